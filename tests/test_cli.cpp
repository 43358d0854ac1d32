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

TEST(Cli, Int8AttentionFromTheLoadOptionAndFromQuantize) {
  const std::string tiny = test::synthetic_dir() + "/tiny";
  auto plain = run_cli({"inspect", "--model", tiny, "--json"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(nlohmann::json::parse(plain.out)["attention"], "fp32");
  auto loaded = run_cli({"inspect", "--model", tiny, "--int8-attention", "--json"});
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  EXPECT_EQ(nlohmann::json::parse(loaded.out)["attention"], "int8");

  const std::string out = test::temp_dir("cli-int8-attention");
  auto q = run_cli({"quantize", "--model", tiny, "--out", out, "--calib", tiny + "/golden.json",
                    "--int8-attention"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const auto spec = nlohmann::json::parse(test::read_file(out + "/quantization.json"));
  EXPECT_EQ(spec["attention"]["precision"], "int8");
  auto inspect = run_cli({"inspect", "--model", out});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("attention     int8 products"), std::string::npos) << inspect.out;
  auto run = run_cli({"run", "raw", "--model", out, "--input", tiny + "/golden.json", "--json"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST(Cli, InspectNamesChosenIsa) {
  for (auto isa : kernels::supported_isas()) {
    auto r = run_cli({"inspect", "--model", test::synthetic_dir() + "/tiny", "--json"},
                     {{"SPARQ_ISA", test::isa_label(isa)}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["isa"], test::isa_label(isa));
  }
}

// The fields README.md documents for `sparq bench --json`.
void expect_bench_fields(const nlohmann::json& j, int64_t count) {
  for (const char* k : {"model", "isa", "precision", "sparse", "api"})
    EXPECT_TRUE(j[k].is_string()) << k;
  for (const char* k : {"batch", "seq", "streams", "threads", "threads_per_stream", "requests"})
    EXPECT_GE(j[k].get<int64_t>(), 1) << k;
  EXPECT_EQ(j["count"].get<int64_t>(), count);
  for (const char* k : {"load_ms", "read_ms", "compile_ms", "first_inference_ms", "total_s",
                        "throughput_seq_per_s", "throughput_tokens_per_s"})
    EXPECT_GT(j[k].get<double>(), 0.0) << k;
  for (const char* k : {"median", "mean", "min", "max", "p90", "p99"})
    EXPECT_GT(j["latency_ms"][k].get<double>(), 0.0) << k;
  EXPECT_LE(j["latency_ms"]["min"].get<double>(), j["latency_ms"]["median"].get<double>());
  EXPECT_LE(j["latency_ms"]["median"].get<double>(), j["latency_ms"]["p99"].get<double>());
  EXPECT_LE(j["latency_ms"]["p99"].get<double>(), j["latency_ms"]["max"].get<double>());
}

TEST(Cli, BenchJson) {
  auto r = run_cli({"bench", "--model", test::synthetic_dir() + "/tiny", "--seq", "32",
                    "--iterations", "7", "--warmup", "1", "--threads", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  expect_bench_fields(j, 7);
  EXPECT_EQ(j["api"], "sync");
  EXPECT_EQ(j["seq"], 32);
}

TEST(Cli, BenchAsyncStreamsCountMatchesIterations) {
  auto r = run_cli({"bench", "--model", test::synthetic_dir() + "/tiny", "--shape",
                    "input_ids[2,16]", "--scenario", "multistream", "--streams", "2", "--requests",
                    "3", "--iterations", "25", "--warmup", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  expect_bench_fields(j, 25);
  EXPECT_EQ(j["api"], "async");
  EXPECT_EQ(j["streams"], 2);
  EXPECT_EQ(j["requests"], 3);
  EXPECT_EQ(j["batch"], 2);
  EXPECT_EQ(j["seq"], 16);
}

TEST(Cli, BenchCompareReportsEveryVariantAndRatio) {
  auto r = run_cli({"bench", "--synth", "bert-tiny:0.9:block4", "--seq", "16", "--iterations", "5",
                    "--warmup", "0", "--compare", "fp32-dense,int8-force", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["baseline"], "fp32-dense");
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][0]["precision"], "fp32");
  EXPECT_EQ(j["results"][0]["sparse"], "off");
  EXPECT_EQ(j["results"][1]["precision"], "int8");
  EXPECT_EQ(j["results"][1]["sparse"], "force");
  for (const auto& v : j["results"]) {
    expect_bench_fields(v, 5);
    EXPECT_GT(v["speedup"].get<double>(), 0.0);
  }
  EXPECT_DOUBLE_EQ(j["results"][0]["speedup"].get<double>(), 1.0);
}

TEST(Cli, BenchCompareMeasuresInTurns) {
  auto r =
      run_cli({"bench", "--synth", "bert-tiny:0.9:block4", "--seq", "16", "--iterations", "8",
               "--rounds", "4", "--warmup", "0", "--compare", "int8-dense,int8-sparse", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["rounds"], 4);
  ASSERT_EQ(j["results"].size(), 2u);
  for (const auto& v : j["results"]) {
    expect_bench_fields(v, 8);  // two a round
    ASSERT_EQ(v["round_median_ms"].size(), 4u);
    for (const auto& ms : v["round_median_ms"]) EXPECT_GT(ms.get<double>(), 0.0);
    EXPECT_LE(v["speedup_rounds"]["lowest"].get<double>(), v["speedup"].get<double>());
    EXPECT_LE(v["speedup"].get<double>(), v["speedup_rounds"]["highest"].get<double>());
  }
  EXPECT_DOUBLE_EQ(j["results"][0]["speedup"].get<double>(), 1.0);
  // the async API measures the variants one after the other
  auto async = run_cli({"bench", "--synth", "bert-tiny", "--seq", "16", "--iterations", "3",
                        "--warmup", "0", "--api", "async", "--compare", "fp32,int8", "--json"});
  ASSERT_EQ(async.exit_code, 0) << async.err;
  auto a = nlohmann::json::parse(async.out);
  EXPECT_EQ(a["rounds"], 1);
  EXPECT_FALSE(a["results"][1].contains("round_median_ms"));
}

TEST(Cli, BenchBadOptionsAreClearErrors) {
  const std::string tiny = test::synthetic_dir() + "/tiny";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--shape", "input_ids[1;128]"}, "--shape"},
      {{"--shape", "input_ids[0,128]"}, "zero dimension"},
      {{"--threads", "0"}, "--threads"},
      {{"--streams", "0"}, "--streams"},
      {{"--streams", "64", "--pin"}, "--pin"},
      {{"--scenario", "offline"}, "--scenario"},
      {{"--api", "sync", "--streams", "2"}, "--api sync"},
      {{"--sparse", "sometimes"}, "--sparse"},
      {{"--compare", "fp32,fp16"}, "fp16"},
      {{"--compare", "dense"}, "at least two"},
      {{"--rounds", "3"}, "--compare"},
      {{"--compare", "dense,sparse", "--rounds", "0"}, "--rounds"},
      {{"--threads", "1", "--streams", "2"}, "cannot serve"},
  };
  for (const auto& [extra, expected] : cases) {
    std::vector<std::string> args = {"bench", "--model", tiny, "--iterations", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << extra[0] << ": " << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  auto neither = run_cli({"bench", "--iterations", "1"});
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_NE(neither.err.find("--model or --synth"), std::string::npos) << neither.err;
  auto synth = run_cli({"bench", "--synth", "bert-huge:0.5", "--iterations", "1"});
  EXPECT_EQ(synth.exit_code, 2);
  EXPECT_NE(synth.err.find("bert-huge"), std::string::npos) << synth.err;
}

TEST(Cli, SynthWritesAModelOtherCommandsLoad) {
  const std::string dir = test::temp_dir("cli-synth") + "/model";
  auto r = run_cli({"synth", "--arch", "bert-tiny", "--sparsity", "0.5", "--pattern", "block4",
                    "--int8", "--out", dir, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["encoder_sparsity"].get<double>(), 0.5, 1e-6);
  auto inspect = run_cli({"inspect", "--model", dir, "--json"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(nlohmann::json::parse(inspect.out)["quantization"].get<std::string>().find("int8"),
            std::string::npos);
  auto run = run_cli({"run", "text-classification", "--model", dir, "hello world"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  auto bad = run_cli({"synth", "--arch", "bert-tiny", "--sparsity", "1.5", "--out", dir});
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
}  // namespace sparq
