// AVX2 + FMA fp32 kernels, for CPUs without AVX-512.
#include <immintrin.h>

#include <cstdint>

#include "kernels/simd/elementwise.h"
#include "kernels/simd/gemm_tile.h"
#include "kernels/simd/qgemm_tile.h"
#include "kernels/simd/spmm_tile.h"
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

float u8_softmax__avx2(float* row, int64_t n, float scale, const float* mask_bias, uint8_t* q) {
  return simd::u8_softmax<V256>(row, n, scale, mask_bias, q);
}

void f32_activation__avx2(Activation act, float* x, int64_t n) {
  simd::activation<V256>(act, x, n);
}

// 4 rows x 2 ymm of int32: 8 accumulators, 2 widened weight vectors, the broadcast and a product.
constexpr int kQMR = 4;
void u8s8_gemm_4x16c2__avx2(const QGemmTileArgs& t) {
  simd::qgemm_tile_any_rows<V256, DotMadd256, kQMR, 2>(t);
}

void u8_quantize__avx2(const float* x, int64_t n, const float* column_scale, float inv_scale,
                       int32_t zero_point, uint8_t* q) {
  simd::u8_quantize<V256>(x, n, column_scale, inv_scale, zero_point, q);
}

void i8_quantize_symmetric_rows__avx2(const float* x, int64_t ldx, int64_t m, int64_t n,
                                      int32_t offset, uint8_t* q, int64_t ldq, float* scales,
                                      int32_t* sums) {
  simd::i8_quantize_symmetric_rows<V256>(x, ldx, m, n, offset, q, ldq, scales, sums);
}

void f32_minmax__avx2(const float* x, int64_t n, const float* column_scale, float* min,
                      float* max) {
  simd::f32_minmax<V256>(x, n, column_scale, min, max);
}

void f32_spmm_8x64__avx2(const SpmmTileArgs& t) {
  simd::f32_spmm_tile<V256>(t);
}

void u8s8_spmm_8x64c2__avx2(const SpmmTileArgs& t) {
  simd::u8s8_spmm_tile<V256, SpDotMadd256>(t);
}

void transpose_32__avx2(const uint32_t* src, int64_t lds, int64_t rows, int64_t cols, uint32_t* dst,
                        int64_t ldd) {
  simd::transpose_32<V256>(src, lds, rows, cols, dst, ldd);
}

void spmm_transpose_u8__avx2(const uint8_t* q, int64_t ldq, int64_t tokens, int64_t k, uint32_t* xt,
                             int64_t ldxt) {
  simd::transpose_u8_pairs<V256>(q, ldq, tokens, k, xt, ldxt);
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
      .u8_softmax = u8_softmax__avx2,
      .f32_activation = f32_activation__avx2,
      .u8s8_gemm_name = "u8s8_gemm_4x16c2__avx2",
      .qgemm_mr = kQMR,
      .qgemm_nr = 16,
      .qgemm_kgroup = DotMadd256::kgroup,
      .u8s8_gemm_tile = u8s8_gemm_4x16c2__avx2,
      .f32_spmm_name = "f32_spmm_8x64__avx2",
      .u8s8_spmm_name = "u8s8_spmm_8x64c2__avx2",
      .spmm_rows = 8,
      .spmm_token_vector = 8,
      .spmm_max_tokens = 64,
      .spmm_row_words = 64 + 8,
      .spmm_chunk_rows = 64,
      .spmm_pass_bytes = 24 * 1024,
      .spmm_f32_min_pass_weights = 20.0f,
      .spmm_u8s8_min_pass_weights = 64.0f,
      .spmm_kgroup = SpDotMadd256::kgroup,
      .spmm_f32_cost_per_weight = 1.8f,
      .spmm_f32_block4_cost_per_weight = 1.75f,
      .spmm_u8s8_cost_per_weight = 1.9f,
      .spmm_cost_per_row = 0.15f,
      .f32_spmm_tile = f32_spmm_8x64__avx2,
      .u8s8_spmm_tile = u8s8_spmm_8x64c2__avx2,
      .transpose_32 = transpose_32__avx2,
      .spmm_transpose_u8 = spmm_transpose_u8__avx2,
      .u8_quantize = u8_quantize__avx2,
      .i8_quantize_symmetric_rows = i8_quantize_symmetric_rows__avx2,
      .f32_minmax = f32_minmax__avx2,
  };
  return table;
}

}  // namespace sparq::kernels
