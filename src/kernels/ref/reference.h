// Scalar reference implementations. They define the ref kernel table (the portable path any
// x86-64 CPU runs) and are what the tests compare every vectorised kernel against.
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace sparq::kernels::ref {

float activate(Activation activation, float x);

// C[m, n] = act(A[m, k] · W[n, k]^T + bias) + residual, accumulated in double: the ground truth
// for every GEMM path (W in PyTorch's [out, in] layout, unpacked).
void gemm_reference(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* w,
                    int64_t ldw, const GemmEpilogue& epilogue, float* c, int64_t ldc);

// C = A_u8[m, k] · W_s8[n, k]^T, exact in int32 (c_raw when the epilogue is raw) or dequantized as
// the epilogue says (its column_sums may be null: they are computed from W; its arrays are not
// offset: b_scale[col], a_scale[row * a_scale_stride]).
void qgemm_reference(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda,
                     const int8_t* w, int64_t ldw, const QGemmEpilogue& epilogue, float* c,
                     int32_t* c_raw, int64_t ldc);

// One dequantized output, in the float operations every integer tile uses.
float dequantize(int32_t acc, int32_t zero_point, int32_t column_sum, float b_scale, float a_scale,
                 float bias, Activation activation, float residual);

void u8_quantize(const float* x, int64_t n, const float* column_scale, float inv_scale,
                 int32_t zero_point, uint8_t* q);
// One input of u8_quantize.
uint8_t quantize_u8(float x, float column_scale, float inv_scale, int32_t zero_point);
// The epilogue's output at (row, col) of a tile (its arrays offset to the tile) from the int32
// sum: dequantized into c[row * ldc + col], or requantized where the epilogue says.
void write_output(const QGemmEpilogue& epilogue, int32_t acc, int32_t column_sum, int64_t row,
                  int64_t col, float* c, int64_t ldc);
void f32_minmax(const float* x, int64_t n, const float* column_scale, float* min, float* max);

void layernorm(const float* x, const float* gamma, const float* beta, float eps, float* y,
               int64_t n);
void softmax(float* row, int64_t n, float scale, const float* mask_bias);
// One row of KernelTable::i8_quantize_symmetric_rows: returns its scale, *sum when sum is non-null.
float i8_quantize_symmetric(const float* x, int64_t n, int32_t offset, uint8_t* q, int32_t* sum);
void i8_quantize_symmetric_rows(const float* x, int64_t ldx, int64_t m, int64_t n, int32_t offset,
                                uint8_t* q, int64_t ldq, float* scales, int32_t* sums);
float u8_softmax(float* row, int64_t n, float scale, const float* mask_bias, uint8_t* q);

}  // namespace sparq::kernels::ref
