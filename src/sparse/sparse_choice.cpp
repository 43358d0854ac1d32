#include "sparse/sparse_choice.h"

#include <algorithm>

namespace sparq {

const char* sparse_mode_name(SparseMode mode) {
  switch (mode) {
    case SparseMode::off:
      return "off";
    case SparseMode::automatic:
      return "auto";
    case SparseMode::force:
      return "force";
  }
  return "auto";
}

namespace sparse {

double predicted_sparse_cost(const kernels::KernelTable& table, const WeightStructure& s, bool int8,
                             int block) {
  if (s.rows == 0 || s.cols == 0) return 1.0;
  const double weights = static_cast<double>(s.rows) * static_cast<double>(s.cols);
  // fraction of the dense weights a sparse format stores (whole blocks)
  const double stored4 = static_cast<double>(s.blocks4 - s.zero_blocks4) * 4.0 / weights;
  const double stored1 = static_cast<double>(s.rows * s.cols - s.zeros) / weights;
  const double per_row = table.spmm_cost_per_row * 768.0 / static_cast<double>(s.cols);
  if (int8) return table.spmm_u8s8_cost_per_weight * stored4 + per_row;
  if (block == 4) return table.spmm_f32_block4_cost_per_weight * stored4 + per_row;
  return table.spmm_f32_cost_per_weight * stored1 + per_row;
}

LayerChoice choose_layer(const kernels::KernelTable& table, const WeightStructure& s, bool int8,
                         const SparseOptions& options) {
  LayerChoice c;
  if (options.mode == SparseMode::off) return c;
  // the cheaper sparse format the kernels can address
  int block = 4;
  double cost = predicted_sparse_cost(table, s, int8, 4);
  if (!int8) {
    const double cost1 = predicted_sparse_cost(table, s, false, 1);
    if (cost1 < cost && fits_sparse_index(s.cols, 1)) {
      block = 1;
      cost = cost1;
    }
  }
  if (!fits_sparse_index(s.cols, block)) return c;
  bool use;
  if (options.mode == SparseMode::force)
    use = true;
  else if (options.threshold >= 0.0)
    use = s.sparsity() >= options.threshold;
  else
    use = cost <= kAutomaticMaxCost;
  if (!use) return c;
  c.sparse = true;
  c.block = block;
  c.predicted_speedup = 1.0 / std::max(cost, 1e-3);
  return c;
}

}  // namespace sparse
}  // namespace sparq
