// Per-layer choice between the dense GEMM and the sparse kernels, by a cost model calibrated on
// the machine's kernels (the table's spmm_*_cost fields, measured with bench/spmm_bench) or by a
// user's sparsity threshold.
#pragma once

#include "kernels/kernels.h"
#include "sparq/model.h"
#include "sparse/sparse_weights.h"

namespace sparq::sparse {

struct LayerChoice {
  bool sparse = false;
  int block = 0;                   // when sparse: 1 or 4 (int8: 4)
  double predicted_speedup = 1.0;  // dense time / the chosen format's time, by the cost model
};

// The cost model's sparse time / dense time for a weight with this structure.
double predicted_sparse_cost(const kernels::KernelTable& table, const WeightStructure& s, bool int8,
                             int block);

// Margin the model must predict before automatic mode leaves the dense kernel: the model's
// error on the measured shapes stays well inside it, so the choice is never slower than dense.
inline constexpr double kAutomaticMaxCost = 0.85;

LayerChoice choose_layer(const kernels::KernelTable& table, const WeightStructure& s, bool int8,
                         const SparseOptions& options);

}  // namespace sparq::sparse
