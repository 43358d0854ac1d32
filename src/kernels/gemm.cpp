#include "kernels/gemm.h"

#include "kernels/partition.h"

#include <algorithm>
#include <cstring>

namespace sparq::kernels {
namespace {

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

struct GemmProblem {
  const KernelTable& table;
  int64_t m, n, k;
  const float* a;
  int64_t lda;
  const float* packed_b;
  float* c;
  int64_t ldc;
  const GemmEpilogue& epilogue;
};

// Panels [panel_begin, panel_end) x rows [m_begin, m_end): row blocks of gemm_mc outermost so
// that block of A stays in cache while the panels stream past it; within a panel, K in passes of
// gemm_kc while every row tile of the block runs.
void gemm_block(const GemmProblem& p, int64_t panel_begin, int64_t panel_end, int64_t m_begin,
                int64_t m_end) {
  const int mr_max = p.table.gemm_mr;
  const int nr_max = p.table.gemm_nr;
  const int64_t kc_max = p.table.gemm_kc;
  const int64_t mc_max = p.table.gemm_mc;
  for (int64_t mc0 = m_begin; mc0 < m_end; mc0 += mc_max) {
    const int64_t mc_end = std::min(m_end, mc0 + mc_max);
    for (int64_t panel = panel_begin; panel < panel_end; ++panel) {
      const int64_t col = panel * nr_max;
      const int nr = static_cast<int>(std::min<int64_t>(nr_max, p.n - col));
      const float* b_panel = p.packed_b + panel * p.k * nr_max;
      for (int64_t k0 = 0;; k0 += kc_max) {
        const int64_t kc = std::min(kc_max, p.k - k0);
        const bool last = k0 + kc >= p.k;
        // rows spread evenly over the fewest tiles (128 rows: 7 x 12 + 4 x 11, not 10 x 12 + 8),
        // as a short tile does less work per load
        const int64_t rows = mc_end - mc0;
        const int64_t tiles = ceil_div(rows, mr_max);
        for (int64_t tile = 0, m0 = mc0; tile < tiles; ++tile) {
          const int64_t tile_rows = rows / tiles + (tile < rows % tiles ? 1 : 0);
          if (last && panel + 1 < panel_end)
            prefetch_share(b_panel + p.k * nr_max,
                           static_cast<int64_t>(sizeof(float)) * p.k * nr_max, tile, tiles);
          const GemmEpilogue ep = last ? epilogue_at(p.epilogue, m0, col) : GemmEpilogue{};
          GemmTileArgs t{p.a + m0 * p.lda + k0,       p.lda, b_panel + k0 * nr_max,
                         p.c + m0 * p.ldc + col,      p.ldc, kc,
                         static_cast<int>(tile_rows), nr,    k0 > 0,
                         last ? &ep : nullptr};
          p.table.f32_gemm_tile(t);
          m0 += tile_rows;
        }
        if (last) break;
      }
    }
  }
}

}  // namespace

size_t packed_b_floats(int64_t n, int64_t k, int nr) {
  return static_cast<size_t>(ceil_div(n, nr) * nr * k);
}

void pack_b_transposed(const float* w, int64_t ldw, int64_t n, int64_t k, int nr, float* out) {
  for (int64_t col0 = 0; col0 < n; col0 += nr) {
    const int64_t cols = std::min<int64_t>(nr, n - col0);
    float* panel = out + col0 * k;
    for (int64_t kk = 0; kk < k; ++kk) {
      float* dst = panel + kk * nr;
      for (int64_t j = 0; j < cols; ++j) dst[j] = w[(col0 + j) * ldw + kk];
      for (int64_t j = cols; j < nr; ++j) dst[j] = 0.0f;
    }
  }
}

void pack_b(const float* b, int64_t ldb, int64_t k, int64_t n, int nr, float* out) {
  for (int64_t col0 = 0; col0 < n; col0 += nr) {
    const int64_t cols = std::min<int64_t>(nr, n - col0);
    float* panel = out + col0 * k;
    for (int64_t kk = 0; kk < k; ++kk) {
      float* dst = panel + kk * nr;
      std::memcpy(dst, b + kk * ldb + col0, static_cast<size_t>(cols) * sizeof(float));
      for (int64_t j = cols; j < nr; ++j) dst[j] = 0.0f;
    }
  }
}

void for_each_gemm_block(core::ThreadPool* pool, int64_t m, int64_t panels, int mr, double flops,
                         core::FunctionRef<void(int64_t, int64_t, int64_t, int64_t)> block) {
  const int threads = pool ? pool->size() : 1;
  // below ~0.5 MFLOP waking the team costs more than it saves
  if (threads == 1 || flops < 524288.0) {
    block(0, panels, 0, m);
    return;
  }
  const int64_t row_tiles = ceil_div(m, mr);
  int64_t row_chunks = 1;
  if (panels < 4 * threads) row_chunks = std::min(row_tiles, ceil_div(4 * threads, panels));
  const int64_t rows_per_chunk = ceil_div(row_tiles, row_chunks) * mr;
  pool->parallel_for(panels * row_chunks, [&](int64_t begin, int64_t end, int) {
    // units are row-chunk major, so one thread's units share a row chunk and cover a contiguous
    // range of panels
    for (int64_t unit = begin; unit < end;) {
      const int64_t chunk = unit / panels;
      const int64_t first_panel = unit % panels;
      const int64_t last_panel = std::min(panels, first_panel + (end - unit));
      const int64_t m0 = chunk * rows_per_chunk;
      if (m0 < m) block(first_panel, last_panel, m0, std::min(m, m0 + rows_per_chunk));
      unit += last_panel - first_panel;
    }
  });
}

GemmEpilogue epilogue_at(const GemmEpilogue& epilogue, int64_t row, int64_t col) {
  GemmEpilogue e = epilogue;
  e.bias = epilogue.bias ? epilogue.bias + col : nullptr;
  e.residual = epilogue.residual ? epilogue.residual + row * epilogue.ldr + col : nullptr;
  return e;
}

void gemm_f32(const KernelTable& table, int64_t m, int64_t n, int64_t k, const float* a,
              int64_t lda, const float* packed_b, float* c, int64_t ldc,
              const GemmEpilogue& epilogue, core::ThreadPool* pool) {
  if (m <= 0 || n <= 0) return;
  GemmProblem p{table, m, n, k, a, lda, packed_b, c, ldc, epilogue};
  for_each_gemm_block(
      pool, m, ceil_div(n, table.gemm_nr), table.gemm_mr, 2.0 * static_cast<double>(m * n * k),
      [&](int64_t p0, int64_t p1, int64_t m0, int64_t m1) { gemm_block(p, p0, p1, m0, m1); });
}

}  // namespace sparq::kernels
