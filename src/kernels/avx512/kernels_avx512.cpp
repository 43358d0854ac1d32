// AVX-512 (F, BW, DQ, VL) fp32 kernels.
#include <immintrin.h>

#include <cstdint>

#include "kernels/simd/elementwise.h"
#include "kernels/simd/gemm_tile.h"
#include "kernels/simd/qgemm_tile.h"
#include "kernels/simd/spmm_tile.h"
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

float u8_softmax__avx512(float* row, int64_t n, float scale, const float* mask_bias, uint8_t* q) {
  return simd::u8_softmax<V512>(row, n, scale, mask_bias, q);
}

void f32_activation__avx512(Activation act, float* x, int64_t n) {
  simd::activation<V512>(act, x, n);
}

// 8 rows x 2 zmm of int32: 16 accumulators; vpmaddwd needs a temporary per product.
constexpr int kQMR = 8;
void u8s8_gemm_8x32c2__avx512(const QGemmTileArgs& t) {
  simd::qgemm_tile_any_rows<V512, DotMadd512, kQMR, 2>(t);
}

void u8_quantize__avx512(const float* x, int64_t n, const float* column_scale, float inv_scale,
                         int32_t zero_point, uint8_t* q) {
  simd::u8_quantize<V512>(x, n, column_scale, inv_scale, zero_point, q);
}

void i8_quantize_symmetric_rows__avx512(const float* x, int64_t ldx, int64_t m, int64_t n,
                                        int32_t offset, uint8_t* q, int64_t ldq, float* scales,
                                        int32_t* sums) {
  simd::i8_quantize_symmetric_rows<V512>(x, ldx, m, n, offset, q, ldq, scales, sums);
}

void f32_minmax__avx512(const float* x, int64_t n, const float* column_scale, float* min,
                        float* max) {
  simd::f32_minmax<V512>(x, n, column_scale, min, max);
}

void f32_spmm_16x128__avx512(const SpmmTileArgs& t) {
  simd::f32_spmm_tile<V512>(t);
}

void u8s8_spmm_16x128c2__avx512(const SpmmTileArgs& t) {
  simd::u8s8_spmm_tile<V512, SpDotMadd512>(t);
}

void transpose_32__avx512(const uint32_t* src, int64_t lds, int64_t rows, int64_t cols,
                          uint32_t* dst, int64_t ldd) {
  simd::transpose_32<V512>(src, lds, rows, cols, dst, ldd);
}

void spmm_transpose_u8__avx512(const uint8_t* q, int64_t ldq, int64_t tokens, int64_t k,
                               uint32_t* xt, int64_t ldxt) {
  simd::transpose_u8_pairs<V512>(q, ldq, tokens, k, xt, ldxt);
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
      .u8_softmax = u8_softmax__avx512,
      .f32_activation = f32_activation__avx512,
      .u8s8_gemm_name = "u8s8_gemm_8x32c2__avx512",
      .qgemm_mr = kQMR,
      .qgemm_nr = 32,
      .qgemm_kgroup = DotMadd512::kgroup,
      .u8s8_gemm_tile = u8s8_gemm_8x32c2__avx512,
      .f32_spmm_name = "f32_spmm_16x128__avx512",
      .u8s8_spmm_name = "u8s8_spmm_16x128c2__avx512",
      .spmm_rows = 16,
      .spmm_token_vector = 16,
      .spmm_max_tokens = 128,
      .spmm_row_words = 128 + 16,
      .spmm_chunk_rows = 64,
      .spmm_pass_bytes = 24 * 1024,
      .spmm_f32_min_pass_weights = 20.0f,
      .spmm_u8s8_min_pass_weights = 64.0f,
      .spmm_kgroup = SpDotMadd512::kgroup,
      .spmm_f32_cost_per_weight = 1.8f,
      .spmm_f32_block4_cost_per_weight = 1.75f,
      .spmm_u8s8_cost_per_weight = 1.9f,
      .spmm_cost_per_row = 0.15f,
      .f32_spmm_tile = f32_spmm_16x128__avx512,
      .u8s8_spmm_tile = u8s8_spmm_16x128c2__avx512,
      .transpose_32 = transpose_32__avx512,
      .spmm_transpose_u8 = spmm_transpose_u8__avx512,
      .u8_quantize = u8_quantize__avx512,
      .i8_quantize_symmetric_rows = i8_quantize_symmetric_rows__avx512,
      .f32_minmax = f32_minmax__avx512,
  };
  return table;
}

}  // namespace sparq::kernels
