#include "sparse/sparse_weights.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace sparq::sparse {
namespace {

template <typename T>
WeightStructure measure(const T* w, int64_t rows, int64_t cols) {
  WeightStructure s;
  s.rows = rows;
  s.cols = cols;
  const int64_t groups = (cols + 3) / 4;
  s.blocks4 = rows * groups;
  std::vector<bool> column_used(static_cast<size_t>(cols), false);
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = w + r * cols;
    int64_t row_zeros = 0;
    for (int64_t g = 0; g < groups; ++g) {
      bool all_zero = true;
      for (int64_t c = 4 * g; c < 4 * g + 4 && c < cols; ++c) {
        if (row[c] == T(0)) {
          ++row_zeros;
        } else {
          all_zero = false;
          column_used[static_cast<size_t>(c)] = true;
        }
      }
      s.zero_blocks4 += all_zero;
    }
    s.zeros += row_zeros;
    s.zero_rows += row_zeros == cols;
  }
  for (bool used : column_used) s.zero_columns += !used;
  return s;
}

// Fills the chunk starts and indices and returns the (row, first column) of every block of
// `block` columns that holds a nonzero weight, in storage order.
template <typename T>
std::vector<std::pair<int64_t, int64_t>> pack_rows(const T* w, int64_t rows, int64_t cols,
                                                   int block, int64_t chunk_blocks,
                                                   SparseWeights& out) {
  if (!fits_sparse_index(cols, block))
    fail("a sparse weight of {} input channels in blocks of {} exceeds the 16-bit block index",
         cols, block);
  out.block = block;
  out.rows = rows;
  out.cols = cols;
  const int64_t groups = (cols + block - 1) / block;
  out.chunk_blocks = std::max<int64_t>(1, chunk_blocks);
  out.chunks = std::max<int64_t>(1, (groups + out.chunk_blocks - 1) / out.chunk_blocks);
  auto nonzero = [&](int64_t r, int64_t g) {
    for (int64_t c = g * block; c < g * block + block && c < cols; ++c)
      if (w[r * cols + c] != T(0)) return true;
    return false;
  };
  out.chunk_start.resize(static_cast<size_t>(rows * (out.chunks + 1)));
  std::vector<std::pair<int64_t, int64_t>> positions;
  for (int64_t r = 0; r < rows; ++r) {
    int32_t* starts = out.chunk_start.data() + r * (out.chunks + 1);
    for (int64_t g = 0; g < groups; ++g) {
      if (g % out.chunk_blocks == 0)
        starts[g / out.chunk_blocks] = static_cast<int32_t>(positions.size());
      if (nonzero(r, g)) positions.emplace_back(r, g * block);
      if (positions.size() > static_cast<size_t>(INT32_MAX))
        fail("a sparse weight has more than 2^31 nonzero blocks");
    }
    for (int64_t c = (groups + out.chunk_blocks - 1) / out.chunk_blocks; c <= out.chunks; ++c)
      starts[c] = static_cast<int32_t>(positions.size());
  }
  out.index.resize(positions.size());
  for (size_t b = 0; b < positions.size(); ++b)
    out.index[b] = static_cast<uint16_t>(positions[b].second / block);
  return positions;
}

}  // namespace

double WeightStructure::sparsity() const {
  return rows > 0 && cols > 0 ? static_cast<double>(zeros) / static_cast<double>(rows * cols) : 0.0;
}

double WeightStructure::block4_sparsity() const {
  return blocks4 ? static_cast<double>(zero_blocks4) / static_cast<double>(blocks4) : 0.0;
}

WeightStructure measure_structure(const float* w, int64_t rows, int64_t cols) {
  return measure(w, rows, cols);
}

WeightStructure measure_structure(const int8_t* w, int64_t rows, int64_t cols) {
  return measure(w, rows, cols);
}

bool fits_sparse_index(int64_t cols, int block) {
  return (cols + block - 1) / block <= 65536;
}

SparseWeights pack_sparse_f32(const kernels::KernelTable& table, const float* w, int64_t rows,
                              int64_t cols, int block) {
  if (block != 1 && block != 4) fail("sparse fp32 blocks are 1 or 4 input channels, not {}", block);
  SparseWeights out;
  // a block spans `block` rows of transposed activations
  const auto positions = pack_rows(w, rows, cols, block, table.spmm_chunk_rows / block, out);
  out.values.resize(positions.size() * static_cast<size_t>(block));
  for (size_t b = 0; b < positions.size(); ++b)
    for (int e = 0; e < block; ++e) {
      const int64_t r = positions[b].first, c = positions[b].second + e;
      out.values[b * static_cast<size_t>(block) + static_cast<size_t>(e)] =
          c < cols ? w[r * cols + c] : 0.0f;
    }
  return out;
}

SparseWeights pack_sparse_s8(const kernels::KernelTable& table, const int8_t* w, int64_t rows,
                             int64_t cols) {
  const int kgroup = table.spmm_kgroup;
  if (kgroup != 4 && kgroup != 2) fail("sparse int8 kgroup must be 4 or 2, not {}", kgroup);
  SparseWeights out;
  // a block spans 4 / kgroup rows of transposed activations
  const auto positions = pack_rows(w, rows, cols, 4, table.spmm_chunk_rows * kgroup / 4, out);
  // an entry: the weights (one word of four s8, or two of s16 pairs), then the offset of the
  // block's activation row, rows being spmm_row_words long
  const int64_t row_words = table.spmm_row_words;
  if ((cols + 3) / 4 * (4 / kgroup) * row_words > INT32_MAX)
    fail("a sparse int8 weight of {} input channels is too wide", cols);
  const size_t words = kgroup == 4 ? 2 : 3;
  out.qvalues.resize(positions.size() * words);
  for (size_t b = 0; b < positions.size(); ++b) {
    int8_t q[4];
    for (int e = 0; e < 4; ++e) {
      const int64_t r = positions[b].first, c = positions[b].second + e;
      q[e] = c < cols ? w[r * cols + c] : int8_t{0};
    }
    int32_t* entry = out.qvalues.data() + b * words;
    if (kgroup == 4) {
      std::memcpy(entry, q, 4);
    } else {
      auto pair = [](int8_t lo, int8_t hi) {
        return static_cast<int32_t>(static_cast<uint16_t>(static_cast<int16_t>(lo)) |
                                    static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16);
      };
      entry[0] = pair(q[0], q[1]);
      entry[1] = pair(q[2], q[3]);
    }
    entry[words - 1] = static_cast<int32_t>(positions[b].second / 4 * (4 / kgroup) * row_words);
  }
  out.index = core::AlignedBuffer<uint16_t>();  // in the entries
  return out;
}

}  // namespace sparq::sparse
