#include "sparse/spmm.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "kernels/gemm.h"
#include "kernels/qgemm.h"

namespace sparq::sparse {
namespace {

// Each output row costs a little beyond its blocks (loop, partial sums, epilogue, write-back),
// in block-equivalents, when the rows are shared out among the threads.
constexpr int64_t kRowOverheadBlocks = 2;

// Partial sums of the rows a pass covers, kept in L2 beside the tile's activations.
constexpr int64_t kPartialBytes = 64 * 1024;

// How a layer's passes are sized (see plan()).
struct PassRule {
  // Halve the token tile while that makes all of K one pass: no partial sums to carry, and the
  // activations of fewer tokens still fit L1. int8 tiles gain (int8 90 % block4 3072x768 at
  // 128 tokens: 32-token tiles 0.120 ms, 128-token tiles 0.135 ms); fp32 ones lose, since their
  // blocks are cheaper to skip than token vectors are to shorten.
  bool fewer_tokens_for_one_pass;
  // Nonzero weights per row below which a pass covers more chunks than fit L1 (the table's
  // spmm_*_min_pass_weights): each row pass ends in a loop exit the branch predictor cannot
  // foresee (row lengths vary at random) and a dependency chain the next row cannot overlap,
  // which cost more than reading the activations from L2 once a pass is down to a dozen weights.
  // bench/spmm_bench, 2 threads, 128 tokens: fp32 90 % 3072x768 with 64-channel passes 0.54 ms,
  // three-chunk passes 0.39-0.44 ms; int8 95 % block4 768x3072 0.091 -> 0.064 ms, 90 % 0.112 ->
  // 0.104 ms, 80 % 3072x768 0.188 -> 0.169 ms.
  double min_pass_weights;
};

// The chunks of a tile's transposed activations that keep spmm_pass_bytes of them in L1.
int64_t chunks_in_l1(const kernels::KernelTable& table, int64_t tile_tokens) {
  return std::max<int64_t>(1, table.spmm_pass_bytes / (tile_tokens * 4) / table.spmm_chunk_rows);
}

// The chunks one pass covers: as many as fit L1, and at least enough for min_pass_weights
// nonzero weights per row (0: no such minimum).
int64_t chunks_per_pass(const kernels::KernelTable& table, const SparseWeights& w,
                        int64_t tile_tokens, double min_pass_weights) {
  const int64_t in_l1 = chunks_in_l1(table, tile_tokens);
  if (min_pass_weights <= 0 || w.rows == 0 || w.chunks == 0) return in_l1;
  const double weights_per_chunk =
      static_cast<double>(w.blocks()) * w.block / static_cast<double>(w.rows * w.chunks);
  const auto for_weights =
      static_cast<int64_t>(std::lround(min_pass_weights / std::max(weights_per_chunk, 1e-3)));
  return std::clamp<int64_t>(for_weights, in_l1, std::max<int64_t>(in_l1, w.chunks));
}

// Transposed activations are stored in groups of spmm_max_tokens tokens, [group][row][token],
// rows spmm_row_words apart whatever the tile size, so int8 block entries can hold their row's
// offset premultiplied; a tile is a power-of-two number of token vectors inside one group.
struct Layout {
  int64_t group_tokens;  // spmm_max_tokens
  int64_t stride;        // words per activation row: spmm_row_words
  int64_t tile_tokens;   // tokens per tile
  int64_t tiles;
  int64_t groups;
  int64_t rows;  // rows of transposed activations (K, or K / kgroup for int8)
  int64_t chunks_per_pass;
  int64_t passes;
  int prefetch_blocks;  // see SpmmTileArgs
  int64_t group_words() const { return rows * stride; }
  // the tile's first token in the transposed activations
  int64_t tile_offset(int64_t tile) const {
    const int64_t t0 = tile * tile_tokens;
    return t0 / group_tokens * group_words() + t0 % group_tokens;
  }
};

Layout plan(const kernels::KernelTable& table, const SparseWeights& w, int64_t m,
            int64_t activation_rows, const PassRule& rule) {
  const int64_t vector = table.spmm_token_vector;
  int64_t vectors = table.spmm_max_tokens / vector;
  const int64_t needed = (m + vector - 1) / vector;
  while (vectors > 1 && vectors / 2 >= needed) vectors /= 2;
  if (rule.fewer_tokens_for_one_pass) {
    int64_t v = vectors;
    while (v > 1 && chunks_in_l1(table, v * vector) < w.chunks) v /= 2;
    if (v > 1) vectors = v;
  }
  Layout l;
  l.group_tokens = table.spmm_max_tokens;
  l.stride = table.spmm_row_words;
  l.tile_tokens = vectors * vector;
  l.tiles = (m + l.tile_tokens - 1) / l.tile_tokens;
  l.groups = (m + l.group_tokens - 1) / l.group_tokens;
  l.rows = activation_rows;
  l.chunks_per_pass = chunks_per_pass(table, w, l.tile_tokens, rule.min_pass_weights);
  l.passes = (w.chunks + l.chunks_per_pass - 1) / l.chunks_per_pass;
  // rows' lengths spread around the average (binomially): half as much again covers most
  const double pass_blocks = static_cast<double>(w.blocks()) /
                             static_cast<double>(std::max<int64_t>(1, w.rows * l.passes));
  l.prefetch_blocks = static_cast<int>(std::ceil(1.5 * pass_blocks)) + 1;
  return l;
}

// Output rows [begin, end) of part `part` of `parts`, in whole groups of spmm_rows, balanced by
// nonzero blocks.
std::pair<int64_t, int64_t> row_share(const SparseWeights& w, int rows_per_group, int part,
                                      int parts) {
  const int64_t groups = (w.rows + rows_per_group - 1) / rows_per_group;
  auto cost = [&](int64_t group) {  // of groups [0, group)
    const int64_t row = std::min(w.rows, group * rows_per_group);
    return w.row_begin(row) + kRowOverheadBlocks * row;
  };
  const int64_t total = cost(groups);
  auto boundary = [&](int p) {
    if (p >= parts) return groups;
    const int64_t target = total * p / parts;
    int64_t lo = 0, hi = groups;  // the first group whose prefix cost reaches the target
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      if (cost(mid) < target)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo;
  };
  return {std::min(w.rows, boundary(part) * rows_per_group),
          std::min(w.rows, boundary(part + 1) * rows_per_group)};
}

// Transposes the activations with transpose(token_begin, token_end, dst, ldd) (a range within
// one group), zero-filling the padding: tokens past m, and activation rows from `used_rows` on.
template <typename Transpose>
void transpose_activations(const kernels::KernelTable& table, const Layout& l, int64_t m,
                           int64_t used_rows, uint32_t* xt, core::ThreadPool* pool,
                           Transpose&& transpose) {
  const int64_t vector = table.spmm_token_vector;
  auto tokens = [&](int64_t begin, int64_t end) {  // in vectors
    for (int64_t t0 = begin * vector; t0 < std::min(m, end * vector);) {
      const int64_t group = t0 / l.group_tokens;
      const int64_t t1 = std::min({m, end * vector, (group + 1) * l.group_tokens});
      transpose(t0, t1, xt + group * l.group_words() + t0 % l.group_tokens, l.stride);
      t0 = t1;
    }
  };
  const int64_t vectors = (m + vector - 1) / vector;
  if (pool && pool->size() > 1 && m * l.rows >= (1 << 15))
    pool->parallel_for(vectors, [&](int64_t b, int64_t e, int) { tokens(b, e); });
  else
    tokens(0, vectors);
  const int64_t end = l.tiles * l.tile_tokens;
  for (int64_t group = 0; group < l.groups; ++group) {
    uint32_t* base = xt + group * l.group_words();
    const int64_t first = group * l.group_tokens;
    const int64_t valid = std::clamp<int64_t>(m - first, 0, l.group_tokens);
    const int64_t used = std::clamp<int64_t>(end - first, 0, l.group_tokens);
    if (valid < used)
      for (int64_t r = 0; r < used_rows; ++r)
        std::memset(base + r * l.stride + valid, 0, static_cast<size_t>(used - valid) * 4);
    for (int64_t r = used_rows; r < l.rows; ++r)
      std::memset(base + r * l.stride, 0, static_cast<size_t>(used) * 4);
  }
}

// Runs the K passes of one tile whose other arguments are set.
void run_passes(const Layout& l, const SparseWeights& w, kernels::SpmmTileArgs& t,
                void (*tile_kernel)(const kernels::SpmmTileArgs&)) {
  for (int64_t pass = 0; pass < l.passes; ++pass) {
    t.first_chunk = static_cast<int>(pass * l.chunks_per_pass);
    t.end_chunk = static_cast<int>(std::min(w.chunks, (pass + 1) * l.chunks_per_pass));
    t.accumulate = pass > 0;
    t.finish = pass + 1 == l.passes;
    tile_kernel(t);
  }
}

// Calls run_tile(args, first_token, first_row) for every token tile of every member's share of
// the rows, args holding the layout, weights and partial sums. Each member walks its tiles in
// order, and each tile's passes cover all its rows, so a pass's activations serve every row
// from L1.
template <typename RunTile>
void for_each_tile(const kernels::KernelTable& table, const SparseWeights& w, const Layout& l,
                   int64_t m, uint32_t* xt, SpmmScratch& scratch, core::ThreadPool* pool,
                   RunTile&& run_tile) {
  if (l.passes > 1) scratch.partial.reserve_at_least(static_cast<size_t>(w.rows * l.tile_tokens));
  auto part = [&](int member, int parts) {
    const auto [row_begin, row_end] = row_share(w, table.spmm_rows, member, parts);
    if (row_begin >= row_end) return;
    // rows in blocks whose partial sums stay in L2 between passes
    const int64_t block_rows =
        std::max<int64_t>(table.spmm_rows, kPartialBytes / (l.tile_tokens * 4)) / table.spmm_rows *
        table.spmm_rows;
    for (int64_t tile = 0; tile < l.tiles; ++tile) {
      const int64_t t0 = tile * l.tile_tokens;
      for (int64_t r0 = row_begin; r0 < row_end; r0 += block_rows) {
        kernels::SpmmTileArgs t{};
        t.xt = xt + l.tile_offset(tile);
        t.ldxt = l.stride;
        t.chunk_start = w.chunk_start.data() + r0 * (w.chunks + 1);
        t.chunk_stride = w.chunks + 1;
        t.prefetch_blocks = l.prefetch_blocks;
        t.index = w.index.data();
        t.block = w.block;
        t.rows = static_cast<int>(std::min(block_rows, row_end - r0));
        t.tokens = static_cast<int>(std::min(l.tile_tokens, m - t0));
        t.partial = l.passes > 1 ? scratch.partial.data() + r0 * l.tile_tokens : nullptr;
        t.ldp = l.tile_tokens;
        run_tile(t, t0, r0);
      }
    }
  };
  // a few thousand blocks x tokens is not worth waking the team for
  const bool parallel = pool && pool->size() > 1 && (w.blocks() + w.rows) * m >= (1 << 15);
  if (parallel)
    pool->run([&](int member) { part(member, pool->size()); });
  else
    part(0, 1);
}

}  // namespace

void spmm_f32(const kernels::KernelTable& table, const SparseWeights& w, const float* x,
              int64_t ldx, int64_t m, float* y, int64_t ldy, const kernels::GemmEpilogue& epilogue,
              SpmmScratch& scratch, core::ThreadPool* pool) {
  if (m <= 0 || w.rows == 0) return;
  const Layout l = plan(table, w, m, (w.cols + w.block - 1) / w.block * w.block,
                        PassRule{false, table.spmm_f32_min_pass_weights});
  scratch.transposed.reserve_at_least(static_cast<size_t>(l.groups * l.group_words()));
  uint32_t* xt = scratch.transposed.data();
  transpose_activations(table, l, m, w.cols, xt, pool,
                        [&](int64_t t0, int64_t t1, uint32_t* dst, int64_t ldd) {
                          table.transpose_32(reinterpret_cast<const uint32_t*>(x + t0 * ldx), ldx,
                                             t1 - t0, w.cols, dst, ldd);
                        });
  for_each_tile(table, w, l, m, xt, scratch, pool,
                [&](kernels::SpmmTileArgs& t, int64_t t0, int64_t r0) {
                  const kernels::GemmEpilogue ep = kernels::epilogue_at(epilogue, t0, r0);
                  t.values = w.values.data();
                  t.c = y + t0 * ldy + r0;
                  t.ldc = ldy;
                  t.epilogue = &ep;
                  run_passes(l, w, t, table.f32_spmm_tile);
                });
}

void spmm_u8s8(const kernels::KernelTable& table, const SparseWeights& w, const uint8_t* q,
               int64_t ldq, int64_t m, const kernels::QGemmEpilogue& epilogue, float* y,
               int32_t* y_raw, int64_t ldy, SpmmScratch& scratch, core::ThreadPool* pool) {
  if (m <= 0 || w.rows == 0) return;
  const int64_t k4 = (w.cols + 3) / 4 * 4;
  if (ldq < k4) fail("spmm_u8s8: input rows of {} bytes hold fewer than {} inputs", ldq, k4);
  const int64_t words = k4 / table.spmm_kgroup;
  const Layout l = plan(table, w, m, words, PassRule{true, table.spmm_u8s8_min_pass_weights});
  scratch.transposed.reserve_at_least(static_cast<size_t>(l.groups * l.group_words()));
  uint32_t* xt = scratch.transposed.data();
  transpose_activations(table, l, m, words, xt, pool,
                        [&](int64_t t0, int64_t t1, uint32_t* dst, int64_t ldd) {
                          table.spmm_transpose_u8(q + t0 * ldq, ldq, t1 - t0, k4, dst, ldd);
                        });
  for_each_tile(table, w, l, m, xt, scratch, pool,
                [&](kernels::SpmmTileArgs& t, int64_t t0, int64_t r0) {
                  const kernels::QGemmEpilogue ep = kernels::epilogue_at(epilogue, t0, r0);
                  t.values = w.qvalues.data();
                  t.c = y ? y + t0 * ldy + r0 : nullptr;
                  t.c_raw = y_raw ? y_raw + t0 * ldy + r0 : nullptr;
                  t.ldc = ldy;
                  t.qepilogue = &ep;
                  run_passes(l, w, t, table.u8s8_spmm_tile);
                });
}

}  // namespace sparq::sparse
