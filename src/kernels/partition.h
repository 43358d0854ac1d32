// How the GEMM drivers split C among a thread team: columns (weight panels) first, so each thread
// streams only its share of the weights; rows too when there are too few panels for the team.
#pragma once

#include <cstdint>

#include "core/function_ref.h"
#include "core/thread_pool.h"

namespace sparq::kernels {

// Calls block(panel_begin, panel_end, row_begin, row_end) over a partition of `panels` panels x
// `m` rows (row chunks a multiple of `mr`). Runs inline when `pool` is null or the problem is
// small (`flops` below ~0.5 M). Each output element belongs to exactly one block, so results do
// not depend on the thread count.
void for_each_gemm_block(core::ThreadPool* pool, int64_t m, int64_t panels, int mr, double flops,
                         core::FunctionRef<void(int64_t, int64_t, int64_t, int64_t)> block);

// Prefetches the part `share` of `shares` of the next weight panel into L2. The row tiles of a
// panel re-read it from L1, which breaks the hardware prefetcher's stream; fetching the next panel
// a slice per tile keeps weights that live in DRAM arriving in time.
inline void prefetch_share(const void* next_panel, int64_t bytes, int64_t share, int64_t shares) {
  const char* base = static_cast<const char*>(next_panel);
  const int64_t begin = bytes * share / shares, end = bytes * (share + 1) / shares;
  for (int64_t offset = begin & ~int64_t{63}; offset < end; offset += 64)
    __builtin_prefetch(base + offset, 0, 2);
}

}  // namespace sparq::kernels
