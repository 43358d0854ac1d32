// Every synthetic model against its golden.json through the library API, on every ISA.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "golden_compare.h"
#include "io/json_io.h"
#include "kernels/dispatch.h"
#include "sparq/runtime.h"
#include "test_util.h"

namespace sparq {
namespace {

struct GoldenCase {
  std::string model;
  kernels::Isa isa;
  SparseMode sparse;
};

std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> cases;
  for (const auto& model : test::synthetic_models())
    for (kernels::Isa isa : test::all_isas())
      for (SparseMode sparse : {SparseMode::off, SparseMode::automatic, SparseMode::force})
        cases.push_back({model, isa, sparse});
  return cases;
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, MatchesReference) {
  const auto& param = GetParam();
  std::string missing = kernels::missing_features(param.isa);
  if (!missing.empty()) GTEST_SKIP() << "CPU lacks " << missing;
  const std::string dir = test::synthetic_dir() + "/" + param.model;
  const auto golden = test::read_json(dir + "/golden.json");
  LoadOptions load;
  load.isa = test::isa_label(param.isa);
  load.sparse.mode = param.sparse;
  auto model = Model::load(dir, load);
  EXPECT_EQ(model->info().isa, test::isa_label(param.isa));
  // forced sparse kernels run every encoder layer; off runs none
  for (const LinearInfo& l : model->info().linears) {
    const bool encoder = l.in_encoder();
    if (param.sparse == SparseMode::force && encoder) {
      EXPECT_EQ(l.format, "sparse") << l.name;
    }
    if (param.sparse == SparseMode::off || !encoder) {
      EXPECT_EQ(l.format, "dense") << l.name;
    }
  }
  EncoderInput input = io::parse_encoder_input(golden.dump(), "golden.json");
  RunOptions options;
  options.all_hidden_states = true;
  Stream stream(model, 2);
  EncoderOutput out = stream.run(input, options);
  test::expect_matches_golden(golden, nlohmann::json::parse(io::encoder_output_json(out)),
                              param.model + "/" + test::isa_label(param.isa));

  // The thread count never changes a bit of the result, and a stream is reusable.
  Stream single(model, 1);
  EncoderOutput again = single.run(input, options);
  EXPECT_EQ(again.logits.data, out.logits.data);
  EXPECT_EQ(again.start_logits.data, out.start_logits.data);
  EXPECT_EQ(again.last_hidden_state.data, out.last_hidden_state.data);
  EXPECT_EQ(again.hidden_states.back().data, out.hidden_states.back().data);
  EXPECT_EQ(single.run(input, options).hidden_states.back().data, out.hidden_states.back().data);
}

INSTANTIATE_TEST_SUITE_P(Synthetic, GoldenTest, ::testing::ValuesIn(golden_cases()),
                         [](const auto& info) {
                           std::string name = info.param.model + "_" +
                                              test::isa_label(info.param.isa) + "_sparse_" +
                                              sparse_mode_name(info.param.sparse);
                           for (char& c : name)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

TEST(Golden, SyntheticModelsArePresent) {
  EXPECT_GE(test::synthetic_models().size(), 14u);
}

// A batch is the sum of its rows: running sequences one at a time gives the same valid outputs.
TEST(Golden, BatchRowsAreIndependent) {
  const std::string dir = test::synthetic_dir() + "/tiny";
  const auto golden = test::read_json(dir + "/golden.json");
  auto model = Model::load(dir);
  Stream stream(model, 2);
  EncoderInput batch = io::parse_encoder_input(golden.dump(), "golden.json");
  EncoderOutput all = stream.run(batch);
  for (int64_t b = 0; b < batch.batch; ++b) {
    EncoderInput one;
    one.batch = 1;
    int64_t len = 0;
    while (len < batch.seq && batch.attention_mask[static_cast<size_t>(b * batch.seq + len)]) ++len;
    one.seq = len;
    for (int64_t s = 0; s < len; ++s) {
      one.input_ids.push_back(batch.input_ids[static_cast<size_t>(b * batch.seq + s)]);
      one.token_type_ids.push_back(batch.token_type_ids[static_cast<size_t>(b * batch.seq + s)]);
    }
    EncoderOutput single = stream.run(one);
    for (int j = 0; j < 2; ++j)
      EXPECT_NEAR(single.logits.data[static_cast<size_t>(j)],
                  all.logits.data[static_cast<size_t>(b * 2 + j)], 1e-5);
  }
}

}  // namespace
}  // namespace sparq
