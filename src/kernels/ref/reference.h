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

void layernorm(const float* x, const float* gamma, const float* beta, float eps, float* y,
               int64_t n);
void softmax(float* row, int64_t n, float scale, const float* mask_bias);

}  // namespace sparq::kernels::ref
