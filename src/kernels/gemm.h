// fp32 GEMM driver over a kernel table's register tile. B is always pre-packed into panels of
// the table's gemm_nr columns (k rows of gemm_nr floats each, columns past n zero-filled):
// weights once at load, attention operands per call into scratch memory.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/kernels.h"

namespace sparq::kernels {

// Floats needed to pack an n-column, k-deep B for panels of nr columns.
size_t packed_b_floats(int64_t n, int64_t k, int nr);

// Packs B = W^T where W is [n, k] with row stride ldw (PyTorch Linear weights, or attention keys).
void pack_b_transposed(const float* w, int64_t ldw, int64_t n, int64_t k, int nr, float* out);

// Packs B given as [k, n] with row stride ldb (attention values).
void pack_b(const float* b, int64_t ldb, int64_t k, int64_t n, int nr, float* out);

// The epilogue of the output tile whose first element is C[row, col]: bias and residual offset.
GemmEpilogue epilogue_at(const GemmEpilogue& epilogue, int64_t row, int64_t col);

// C[m, n] = epilogue(A[m, k] · B), B packed for `table`. The epilogue's bias is [n] and its
// residual [m, ldr]. Uses the pool when given and the problem is worth splitting.
void gemm_f32(const KernelTable& table, int64_t m, int64_t n, int64_t k, const float* a,
              int64_t lda, const float* packed_b, float* c, int64_t ldc,
              const GemmEpilogue& epilogue, core::ThreadPool* pool);

}  // namespace sparq::kernels
