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

}  // namespace sparq::kernels
