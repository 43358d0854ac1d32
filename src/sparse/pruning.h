// Seeded random pruning to an exact sparsity, for synthetic models, tests and benchmarks.
#pragma once

#include <cstdint>

namespace sparq::sparse {

enum class Pattern { unstructured, block4 };

const char* pattern_name(Pattern pattern);

// Zeroes exactly round(sparsity * count) of a row-major [rows, cols] matrix's weights
// (unstructured) or 4-input-channel groups (block4; a row's last group may be short), chosen
// uniformly at random from `seed`.
void prune_random(float* w, int64_t rows, int64_t cols, double sparsity, Pattern pattern,
                  uint64_t seed);
void prune_random(int8_t* w, int64_t rows, int64_t cols, double sparsity, Pattern pattern,
                  uint64_t seed);

}  // namespace sparq::sparse
