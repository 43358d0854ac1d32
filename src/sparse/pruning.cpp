#include "sparse/pruning.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "core/error.h"

namespace sparq::sparse {
namespace {

template <typename T>
void prune(T* w, int64_t rows, int64_t cols, double sparsity, Pattern pattern, uint64_t seed) {
  if (!(sparsity >= 0.0 && sparsity <= 1.0)) fail("sparsity {} is not in [0, 1]", sparsity);
  const int64_t width = pattern == Pattern::block4 ? 4 : 1;
  const int64_t groups = (cols + width - 1) / width;
  std::vector<int64_t> order(static_cast<size_t>(rows * groups));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  const auto zeroed =
      static_cast<size_t>(std::llround(sparsity * static_cast<double>(order.size())));
  for (size_t i = 0; i < zeroed; ++i) {
    const int64_t r = order[i] / groups, g = order[i] % groups;
    for (int64_t c = g * width; c < std::min(cols, g * width + width); ++c) w[r * cols + c] = T(0);
  }
}

}  // namespace

const char* pattern_name(Pattern pattern) {
  return pattern == Pattern::block4 ? "block4" : "unstructured";
}

void prune_random(float* w, int64_t rows, int64_t cols, double sparsity, Pattern pattern,
                  uint64_t seed) {
  prune(w, rows, cols, sparsity, pattern, seed);
}

void prune_random(int8_t* w, int64_t rows, int64_t cols, double sparsity, Pattern pattern,
                  uint64_t seed) {
  prune(w, rows, cols, sparsity, pattern, seed);
}

}  // namespace sparq::sparse
