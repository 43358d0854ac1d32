// GPTQ weight rounding (Frantar et al., 2022): columns of W are rounded to int8 one at a time and
// each rounding error is compensated on the columns not yet rounded, weighted by the inverse of
// H = X^T X of the layer's calibration inputs, which minimizes ||X W^T - X Q^T|| far better than
// rounding each weight to nearest. The dense linear algebra runs on sparq's fp32 GEMM kernels.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/kernels.h"

namespace sparq::quant {

// H += X^T X for rows of X [rows, cols].
void add_gram(const kernels::KernelTable& table, core::ThreadPool* pool, const float* x,
              int64_t rows, int64_t cols, float* h);

// The inverse-Hessian factor GPTQ walks along: the upper Cholesky factor U of (H + damp)^-1,
// with H [n, n] symmetric (X^T X summed over calibration rows). Returns false when H is not
// positive definite even after damping.
bool gptq_factor(const kernels::KernelTable& table, core::ThreadPool* pool, std::vector<float> h,
                 int64_t n, double damping, std::vector<float>& u);

// Rounds W [out, in] (row-major, modified in place) to q with scales computed from the original
// W: one per row (per_channel) or one for all; q = clamp(round(w / scale), -127, 127). Weights
// that are exactly zero (pruned) stay zero.
void gptq_round(const kernels::KernelTable& table, core::ThreadPool* pool,
                const std::vector<float>& u, float* w, int64_t out, int64_t in, bool per_channel,
                int8_t* q, float* scales);

// Dense helpers, exposed for tests: lower Cholesky in place (A = L L^T, lower triangle of a
// row-major n x n matrix; false when not positive definite), and the inverse of a lower
// triangular matrix.
bool cholesky_lower(const kernels::KernelTable& table, core::ThreadPool* pool, float* a, int64_t n);
std::vector<float> invert_lower(const kernels::KernelTable& table, core::ThreadPool* pool,
                                const float* l, int64_t n);

}  // namespace sparq::quant
