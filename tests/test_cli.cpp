// The sparq command line end to end: `run raw` against every golden file with each ISA forced
// through SPARQ_ISA, the help texts, and the JSON shapes of inspect and bench.
#include <gtest/gtest.h>

#include "golden_compare.h"
#include "kernels/dispatch.h"
#include "test_util.h"

namespace sparq {
namespace {

using test::run_cli;

struct CliGoldenCase {
  std::string model;
  kernels::Isa isa;
};

class CliGolden : public ::testing::TestWithParam<CliGoldenCase> {};

TEST_P(CliGolden, RunRawMatchesGolden) {
  const auto& p = GetParam();
  std::string missing = kernels::missing_features(p.isa);
  if (!missing.empty()) GTEST_SKIP() << "CPU lacks " << missing;
  const std::string dir = test::synthetic_dir() + "/" + p.model;
  auto r = run_cli(
      {"run", "raw", "--model", dir, "--input", dir + "/golden.json", "--json", "--hidden-states"},
      {{"SPARQ_ISA", test::isa_label(p.isa)}});
  ASSERT_FALSE(r.signaled) << "signal " << r.signal;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  test::expect_matches_golden(test::read_json(dir + "/golden.json"), nlohmann::json::parse(r.out),
                              p.model + " SPARQ_ISA=" + test::isa_label(p.isa));
}

std::vector<CliGoldenCase> cli_cases() {
  std::vector<CliGoldenCase> cases;
  for (const auto& m : test::synthetic_models())
    for (auto isa : test::all_isas()) cases.push_back({m, isa});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Synthetic, CliGolden, ::testing::ValuesIn(cli_cases()),
                         [](const auto& info) {
                           std::string name =
                               info.param.model + "_" + test::isa_label(info.param.isa);
                           for (char& c : name)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

TEST(Cli, RunRawPrintsLogitsObject) {
  const std::string dir = test::synthetic_dir() + "/tiny";
  auto r = run_cli({"run", "raw", "--model", dir, "--input", dir + "/golden.json", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(out["logits"].size(), 3u);
  EXPECT_EQ(out["logits"][0].size(), 2u);
  auto hidden = run_cli(
      {"run", "raw", "--model", dir, "--input", dir + "/golden.json", "--json", "--hidden"});
  auto h = nlohmann::json::parse(hidden.out);
  EXPECT_TRUE(h.contains("last_hidden_state"));
  EXPECT_EQ(h["last_hidden_state"][0][0].size(), 64u);
  // without --json: a table with the predicted labels
  auto table = run_cli({"run", "raw", "--model", dir, "--input", dir + "/golden.json"});
  EXPECT_NE(table.out.find("NEGATIVE"), std::string::npos);
  EXPECT_NE(table.out.find("predicted"), std::string::npos);
}

TEST(Cli, MissingMaskAndTypesDefaultToOnesAndZeros) {
  const std::string dir = test::synthetic_dir() + "/tiny";
  auto golden = test::read_json(dir + "/golden.json");
  // the second golden row is a single unpadded-prefix sentence: run its valid part alone
  std::vector<int> ids;
  for (size_t s = 0; s < golden["input_ids"][1].size(); ++s)
    if (golden["attention_mask"][1][s].get<int>())
      ids.push_back(golden["input_ids"][1][s].get<int>());
  std::string path = test::temp_dir("cli-defaults") + "/in.json";
  test::write_file(path, nlohmann::json({{"input_ids", {ids}}}).dump());
  auto r = run_cli({"run", "raw", "--model", dir, "--input", path, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto logits = test::flatten(nlohmann::json::parse(r.out)["logits"]);
  auto want = test::flatten(golden["logits"][1]);
  EXPECT_LE(test::max_abs_diff(logits, want), 1e-4);
}

TEST(Cli, HelpListsEveryOption) {
  auto top = run_cli({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  for (const char* cmd : {"inspect", "run", "bench"})
    EXPECT_NE(top.out.find(cmd), std::string::npos) << cmd;
  auto inspect = run_cli({"inspect", "--help"});
  for (const char* opt : {"--model", "--isa", "--json"})
    EXPECT_NE(inspect.out.find(opt), std::string::npos) << opt;
  auto raw = run_cli({"run", "raw", "--help"});
  for (const char* opt :
       {"--model", "--input", "--json", "--hidden", "--hidden-states", "--threads", "--isa"})
    EXPECT_NE(raw.out.find(opt), std::string::npos) << opt;
  auto bench = run_cli({"bench", "--help"});
  for (const char* opt :
       {"--model", "--batch", "--seq", "--threads", "--time", "--iterations", "--warmup", "--json"})
    EXPECT_NE(bench.out.find(opt), std::string::npos) << opt;
}

TEST(Cli, InspectJson) {
  auto r =
      run_cli({"inspect", "--model", test::synthetic_dir() + "/tiny-sparse90-block4", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "BertForSequenceClassification");
  EXPECT_EQ(j["hidden_size"], 64);
  EXPECT_EQ(j["num_hidden_layers"], 2);
  EXPECT_EQ(j["parameters"].get<int64_t>(), 124994);
  EXPECT_GT(j["resident_weight_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(j["linears"].size(), 2u * 6u + 2u);
  int64_t zeros = 0, weights = 0;
  for (const auto& l : j["linears"])
    if (l["name"].get<std::string>().rfind("encoder.", 0) == 0) {
      zeros += l["zeros"].get<int64_t>();
      weights += l["out_features"].get<int64_t>() * l["in_features"].get<int64_t>();
    }
  EXPECT_NEAR(static_cast<double>(zeros) / static_cast<double>(weights), 0.90, 0.001);
  EXPECT_FALSE(j["kernels"]["gemm"].get<std::string>().empty());
}

TEST(Cli, InspectNamesChosenIsa) {
  for (auto isa : kernels::supported_isas()) {
    auto r = run_cli({"inspect", "--model", test::synthetic_dir() + "/tiny", "--json"},
                     {{"SPARQ_ISA", test::isa_label(isa)}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["isa"], test::isa_label(isa));
  }
}

TEST(Cli, BenchJson) {
  auto r = run_cli({"bench", "--model", test::synthetic_dir() + "/tiny", "--seq", "32",
                    "--iterations", "7", "--warmup", "1", "--threads", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["count"], 7);
  for (const char* k : {"median", "mean", "min", "max", "p90", "p99"})
    EXPECT_GT(j["latency_ms"][k].get<double>(), 0.0) << k;
  EXPECT_GT(j["throughput_seq_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["load_ms"].get<double>(), 0.0);
}

}  // namespace
}  // namespace sparq
