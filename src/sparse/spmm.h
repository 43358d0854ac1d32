// Sparse weights times activations: Y[m, n] = epilogue(X[m, k] · W^T) with W [n, k] in the
// sparse form of sparse_weights.h, over a kernel table's sparse tiles. The drivers transpose the
// activations into token tiles (tokens contiguous), split the output rows among the threads by
// their nonzero blocks, and run each tile in passes over K chunks whose activations fit in L1.
#pragma once

#include <cstdint>

#include "core/aligned_buffer.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"
#include "sparse/sparse_weights.h"

namespace sparq::sparse {

// A stream's scratch memory (grows to the largest call).
struct SpmmScratch {
  core::AlignedBuffer<uint32_t> transposed;  // [token tiles][activation rows][tile tokens]
  core::AlignedBuffer<uint32_t> partial;     // [n][tile tokens] partial sums between passes
};

// fp32: x [m, ldx] holds w.cols inputs per row. Epilogue arrays are not offset (bias[n],
// residual[m, ldr]).
void spmm_f32(const kernels::KernelTable& table, const SparseWeights& w, const float* x,
              int64_t ldx, int64_t m, float* y, int64_t ldy, const kernels::GemmEpilogue& epilogue,
              SpmmScratch& scratch, core::ThreadPool* pool);

// int8: q [m, ldq] holds u8 inputs, ldq >= w.cols rounded up to 4 and padding bytes set (any
// value: the padded weights are zero); w packed for this table. The epilogue is laid out as for
// kernels::qgemm (a_scale/a_zero_point per row of q when their strides are 1).
void spmm_u8s8(const kernels::KernelTable& table, const SparseWeights& w, const uint8_t* q,
               int64_t ldq, int64_t m, const kernels::QGemmEpilogue& epilogue, float* y,
               int32_t* y_raw, int64_t ldy, SpmmScratch& scratch, core::ThreadPool* pool);

}  // namespace sparq::sparse
