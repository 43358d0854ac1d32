// Sparse Linear weights: how a weight matrix's zeros are laid out, and the compressed form the
// sparse tiles read (SpmmTileArgs in kernels/kernels.h), packed once at load.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/aligned_buffer.h"
#include "kernels/kernels.h"

namespace sparq::sparse {

// The zeros of a [rows, cols] weight (rows = output channels, cols = input channels).
struct WeightStructure {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t zeros = 0;
  int64_t blocks4 = 0;       // groups of 4 consecutive input channels of a row (cols padded to 4)
  int64_t zero_blocks4 = 0;  // of which all four weights are zero
  int64_t zero_rows = 0;     // output channels whose weights are all zero
  int64_t zero_columns = 0;  // input channels no output reads
  double sparsity() const;
  double block4_sparsity() const;
};

WeightStructure measure_structure(const float* w, int64_t rows, int64_t cols);
WeightStructure measure_structure(const int8_t* w, int64_t rows, int64_t cols);

// Rows of nonzero blocks of `block` consecutive input channels (a block with any nonzero weight
// is stored whole), each row's blocks split at every chunk_blocks block positions so a kernel
// pass can cover a K chunk whose activations stay in L1. Indices are 16-bit, so cols / block must
// stay below 65536. Packed for one kernel table (its chunking and int8 dot layout).
struct SparseWeights {
  int block = 1;  // 1 (unstructured) or 4; int8 is always 4
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t chunk_blocks = 0;  // block positions per K chunk
  int64_t chunks = 0;
  core::AlignedBuffer<int32_t> chunk_start;  // [rows][chunks + 1]: first block of each chunk
  core::AlignedBuffer<uint16_t> index;       // fp32, per block: first input channel / block
  core::AlignedBuffer<float> values;         // fp32: block weights per block
  // int8, per block: its weights (one word of four s8 for kgroup 4, two words of s16 pairs for
  // kgroup 2), then the offset of its row of transposed activations (see sparse/spmm.cpp)
  core::AlignedBuffer<int32_t> qvalues;

  int64_t blocks() const {
    return rows ? chunk_start[static_cast<size_t>(rows * (chunks + 1) - 1)] : 0;
  }
  // the first block of `row` (rows: the total)
  int64_t row_begin(int64_t row) const {
    return row < rows ? chunk_start[static_cast<size_t>(row * (chunks + 1))] : blocks();
  }
  size_t bytes() const {
    return chunk_start.bytes() + index.bytes() + values.bytes() + qvalues.bytes();
  }
};

// The largest input width the 16-bit block indices can address.
bool fits_sparse_index(int64_t cols, int block);

SparseWeights pack_sparse_f32(const kernels::KernelTable& table, const float* w, int64_t rows,
                              int64_t cols, int block);

// For the table's spmm_kgroup: 4 stores a block's weights as its four s8 bytes (one word); 2 as
// two words of s16 pairs (w0 | w1 << 16, w2 | w3 << 16) for vpmaddwd.
SparseWeights pack_sparse_s8(const kernels::KernelTable& table, const int8_t* w, int64_t rows,
                             int64_t cols);

}  // namespace sparq::sparse
