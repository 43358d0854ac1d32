// Compares encoder outputs with a golden.json of the reference implementation.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"

namespace sparq::test {

inline constexpr double kGoldenTolerance = 1e-4;

// Max |a - b| over two flattened tensors of the same size.
inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

// Checks every output golden.json holds, and every layer's hidden states at the positions the
// attention mask marks valid. `actual` is shaped like encoder_output_json's output.
inline void expect_matches_golden(const nlohmann::json& golden, const nlohmann::json& actual,
                                  const std::string& what) {
  int compared = 0;
  for (const char* key :
       {"logits", "start_logits", "end_logits", "last_hidden_state", "pooler_output"}) {
    if (!golden.contains(key)) continue;
    ASSERT_TRUE(actual.contains(key)) << what << ": output lacks " << key;
    EXPECT_LE(max_abs_diff(flatten(actual[key]), flatten(golden[key])), kGoldenTolerance)
        << what << " " << key;
    ++compared;
  }
  EXPECT_GT(compared, 0) << what;
  ASSERT_TRUE(actual.contains("hidden_states")) << what;
  const auto& mask = golden["attention_mask"];
  const auto& want_layers = golden["hidden_states"];
  const auto& got_layers = actual["hidden_states"];
  ASSERT_EQ(got_layers.size(), want_layers.size()) << what;
  for (size_t l = 0; l < want_layers.size(); ++l) {
    double worst = 0.0;
    for (size_t b = 0; b < mask.size(); ++b)
      for (size_t s = 0; s < mask[b].size(); ++s)
        if (mask[b][s].get<int>())
          worst = std::max(
              worst, max_abs_diff(flatten(got_layers[l][b][s]), flatten(want_layers[l][b][s])));
    EXPECT_LE(worst, kGoldenTolerance) << what << " hidden_states[" << l << "]";
  }
}

}  // namespace sparq::test
