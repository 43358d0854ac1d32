// AVX-512 (F, BW, DQ, VL) fp32 kernels.
#include <immintrin.h>

#include <cstdint>

#include "kernels/simd/elementwise.h"
#include "kernels/simd/gemm_tile.h"
#include "kernels/tables.h"

namespace sparq::kernels {
namespace {

#include "kernels/avx512/vec_avx512.h"

// 12 rows x 2 zmm: 24 accumulators + 2 B vectors + 1 broadcast of the 32 registers.
constexpr int kMR = 12;
constexpr int kNV = 2;

void f32_gemm_12x32__avx512(const GemmTileArgs& t) {
  simd::gemm_tile_any_rows<V512, kMR, kNV>(t);
}

void f32_layernorm__avx512(const float* x, const float* gamma, const float* beta, float eps,
                           float* y, int64_t n) {
  simd::layernorm<V512>(x, gamma, beta, eps, y, n);
}

void f32_softmax__avx512(float* row, int64_t n, float scale, const float* mask_bias) {
  simd::softmax<V512>(row, n, scale, mask_bias);
}

void f32_activation__avx512(Activation act, float* x, int64_t n) {
  simd::activation<V512>(act, x, n);
}

}  // namespace

const KernelTable& avx512_table() {
  static const KernelTable table = {
      .isa = Isa::avx512,
      .isa_name = "avx512",
      .f32_gemm_name = "f32_gemm_12x32__avx512",
      .gemm_mr = kMR,
      .gemm_nr = kNV * 16,
      .gemm_kc = 4096,
      .gemm_mc = 192,
      .f32_gemm_tile = f32_gemm_12x32__avx512,
      .f32_layernorm_name = "f32_layernorm__avx512",
      .f32_layernorm = f32_layernorm__avx512,
      .f32_softmax_name = "f32_softmax__avx512",
      .f32_softmax = f32_softmax__avx512,
      .f32_activation = f32_activation__avx512,
  };
  return table;
}

}  // namespace sparq::kernels
