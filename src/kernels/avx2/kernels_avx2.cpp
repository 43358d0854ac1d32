// AVX2 + FMA fp32 kernels, for CPUs without AVX-512.
#include <immintrin.h>

#include <cstdint>

#include "kernels/simd/elementwise.h"
#include "kernels/simd/gemm_tile.h"
#include "kernels/tables.h"

namespace sparq::kernels {
namespace {

#include "kernels/avx2/vec_avx2.h"

// 6 rows x 2 ymm: 12 accumulators + 2 B vectors + 1 broadcast of the 16 registers.
constexpr int kMR = 6;
constexpr int kNV = 2;

void f32_gemm_6x16__avx2(const GemmTileArgs& t) {
  simd::gemm_tile_any_rows<V256, kMR, kNV>(t);
}

void f32_layernorm__avx2(const float* x, const float* gamma, const float* beta, float eps, float* y,
                         int64_t n) {
  simd::layernorm<V256>(x, gamma, beta, eps, y, n);
}

void f32_softmax__avx2(float* row, int64_t n, float scale, const float* mask_bias) {
  simd::softmax<V256>(row, n, scale, mask_bias);
}

void f32_activation__avx2(Activation act, float* x, int64_t n) {
  simd::activation<V256>(act, x, n);
}

}  // namespace

const KernelTable& avx2_table() {
  static const KernelTable table = {
      .isa = Isa::avx2,
      .isa_name = "avx2",
      .f32_gemm_name = "f32_gemm_6x16__avx2",
      .gemm_mr = kMR,
      .gemm_nr = kNV * 8,
      .gemm_kc = 4096,
      .gemm_mc = 192,
      .f32_gemm_tile = f32_gemm_6x16__avx2,
      .f32_layernorm_name = "f32_layernorm__avx2",
      .f32_layernorm = f32_layernorm__avx2,
      .f32_softmax_name = "f32_softmax__avx2",
      .f32_softmax = f32_softmax__avx2,
      .f32_activation = f32_activation__avx2,
  };
  return table;
}

}  // namespace sparq::kernels
