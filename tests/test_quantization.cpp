// INT8 quantization: agreement with fp32 on every synthetic model and ISA, the saved model equal
// to the one quantized in memory, the accuracy budgets on the trained models, and one clear error
// per bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "io/json_io.h"
#include "kernels/dispatch.h"
#include "sparq/error.h"
#include "sparq/quantization.h"
#include "sparq/runtime.h"
#include "sparq/synth.h"
#include "test_util.h"

namespace sparq {
namespace {

std::string synthetic(const std::string& name) {
  return test::synthetic_dir() + "/" + name;
}
std::string trained(const std::string& name) {
  return test::shared_dir() + "/models/trained/" + name;
}
std::string data(const std::string& name) {
  return test::shared_dir() + "/data/" + name;
}

// The first output of a model: logits, or start logits, or the last hidden state.
const Tensor& primary(const EncoderOutput& out) {
  if (!out.logits.empty()) return out.logits;
  if (!out.start_logits.empty()) return out.start_logits;
  return out.last_hidden_state;
}

double cosine(const float* a, const float* b, int64_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb + 1e-300);
}

// calibrated: sparq quantize (SmoothQuant + GPTQ) with static or dynamic activations;
// at_load: --int8, weights rounded to nearest without calibration, dynamic activations;
// int8_attention: calibrated dynamic with attention's products in INT8 too (--int8-attention);
// attention_only: fp32 Linear layers, attention's products in INT8 (loaded with --int8-attention)
enum class Int8Path {
  calibrated_dynamic,
  calibrated_static,
  at_load,
  int8_attention,
  attention_only
};

const char* path_name(Int8Path p) {
  switch (p) {
    case Int8Path::calibrated_dynamic:
      return "calibrated_dynamic";
    case Int8Path::calibrated_static:
      return "calibrated_static";
    case Int8Path::at_load:
      return "at_load";
    case Int8Path::int8_attention:
      return "int8_attention";
    case Int8Path::attention_only:
      return "attention_only";
  }
  return "?";
}

struct Int8Case {
  std::string model;
  kernels::Isa isa;
  Int8Path path;
};

class SyntheticInt8 : public ::testing::TestWithParam<Int8Case> {};

TEST_P(SyntheticInt8, AgreesWithFp32) {
  const auto& p = GetParam();
  if (!kernels::isa_supported(p.isa))
    GTEST_SKIP() << "CPU lacks " << kernels::missing_features(p.isa);
  const std::string dir = synthetic(p.model);
  const EncoderInput input =
      io::parse_encoder_input(test::read_file(dir + "/golden.json"), "golden.json");
  LoadOptions load;
  load.isa = test::isa_label(p.isa);
  auto fp32 = Model::load(dir, load);
  std::string int8_dir = dir;
  if (p.path == Int8Path::at_load) {
    load.quantize = QuantizationSpec{};
  } else if (p.path == Int8Path::attention_only) {
    load.int8_attention = true;
  } else {
    // calibrated on the golden inputs themselves, then loaded from disk
    int8_dir = test::temp_dir(std::string("int8-") + path_name(p.path) + "-" + p.model + "-" +
                              test::isa_label(p.isa));
    QuantizeOptions q;
    q.calibration_file = dir + "/golden.json";
    q.activations = p.path == Int8Path::calibrated_static ? ActivationMode::static_range
                                                          : ActivationMode::dynamic;
    q.int8_attention = p.path == Int8Path::int8_attention;
    q.isa = load.isa;
    q.threads = 1;
    quantize_model(dir, int8_dir, q);
  }
  auto int8 = Model::load(int8_dir, load);
  const bool int8_attention =
      p.path == Int8Path::int8_attention || p.path == Int8Path::attention_only;
  EXPECT_EQ(int8->info().attention, int8_attention ? "int8" : "fp32");
  RunOptions options;
  options.all_hidden_states = true;
  Stream a(fp32, 2), b(int8, 2);
  const EncoderOutput ref = a.run(input, options), got = b.run(input, options);
  const Tensor &x = primary(ref), &y = primary(got);
  // The logits criterion (cosine >= 0.999 per row) holds for calibrated dynamic INT8 on every
  // model. Static per-tensor activations and uncalibrated --int8 miss it by a little on the models
  // whose logits are small differences of large terms (tiny-sparse90-block4: logits about +-0.14),
  // so there the per-row minimum is recorded and held to 0.99.
  const double bound =
      p.path == Int8Path::calibrated_dynamic || p.path == Int8Path::attention_only ? 0.999 : 0.99;
  const int64_t rows = x.shape[0];
  const int64_t width = static_cast<int64_t>(x.data.size()) / rows;
  double worst = 1.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x.data.data() + r * width;
    const float* yr = y.data.data() + r * width;
    const double c = cosine(xr, yr, width);
    worst = std::min(worst, c);
    EXPECT_GE(c, bound) << "row " << r;
    if (!ref.logits.empty() && ref.logits.shape.size() == 2) {
      EXPECT_EQ(std::max_element(xr, xr + width) - xr, std::max_element(yr, yr + width) - yr)
          << "argmax of row " << r;
    }
  }
  RecordProperty("worst_row_cosine", std::to_string(worst));
  std::printf("int8 %s %s %s: worst row cosine %.6f\n", p.model.c_str(),
              test::isa_label(p.isa).c_str(), path_name(p.path), worst);
  // hidden-state error at the valid positions, reported per layer
  for (size_t l = 0; l < ref.hidden_states.size(); ++l) {
    double err = 0, norm = 0;
    const auto& h = ref.hidden_states[l].data;
    const auto& q = got.hidden_states[l].data;
    const int64_t H = ref.hidden_states[l].shape[2];
    for (size_t t = 0; t < input.attention_mask.size(); ++t)
      if (input.attention_mask[t])
        for (int64_t j = 0; j < H; ++j) {
          const double d = h[t * static_cast<size_t>(H) + static_cast<size_t>(j)] -
                           q[t * static_cast<size_t>(H) + static_cast<size_t>(j)];
          err += d * d;
          norm += static_cast<double>(h[t * static_cast<size_t>(H) + static_cast<size_t>(j)]) *
                  h[t * static_cast<size_t>(H) + static_cast<size_t>(j)];
        }
    const double relative = std::sqrt(err / norm);
    RecordProperty("hidden_state_" + std::to_string(l) + "_relative_error",
                   std::to_string(relative));
    EXPECT_LT(relative, 0.05) << "layer " << l;
  }
}

std::vector<Int8Case> int8_cases() {
  std::vector<Int8Case> cases;
  for (const auto& m : test::synthetic_models())
    for (auto isa :
         {kernels::Isa::ref, kernels::Isa::avx2, kernels::Isa::avx512, kernels::Isa::avx512_vnni})
      for (auto path : {Int8Path::calibrated_dynamic, Int8Path::calibrated_static,
                        Int8Path::at_load, Int8Path::int8_attention, Int8Path::attention_only})
        cases.push_back({m, isa, path});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Synthetic, SyntheticInt8, ::testing::ValuesIn(int8_cases()),
                         [](const auto& info) {
                           std::string name = info.param.model + "_" +
                                              test::isa_label(info.param.isa) + "_" +
                                              path_name(info.param.path);
                           for (char& c : name)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

// Sequences longer than one block of query rows, lengths that are not a multiple of 4 and padded
// batches: INT8 attention's last hidden state stays within cosine 0.999 of fp32 at every valid
// token, on every ISA.
TEST(Int8Attention, LongPaddedSequencesAgreeWithFp32) {
  const std::string dir = test::temp_dir("int8-attention-bert-tiny");
  SynthOptions synth;
  synth.arch = "bert-tiny";  // 512 positions
  synth.calibration_lines = 1;
  synthesize_model(synth, dir);
  for (auto isa : kernels::supported_isas()) {
    SCOPED_TRACE(test::isa_label(isa));
    LoadOptions load;
    load.isa = test::isa_label(isa);
    auto fp32 = Model::load(dir, load);
    load.int8_attention = true;
    auto int8 = Model::load(dir, load);
    Stream a(fp32, 2), b(int8, 2);
    RunOptions options;
    options.last_hidden_state = true;
    std::mt19937 rng(7);
    for (int round = 0; round < 4; ++round) {
      const EncoderInput input = test::random_encoder_input(fp32->config(), rng, 3, 200, true);
      const EncoderOutput ref = a.run(input, options), got = b.run(input, options);
      const int64_t H = fp32->config().hidden_size;
      for (int64_t t = 0; t < input.batch * input.seq; ++t)
        if (input.attention_mask[static_cast<size_t>(t)]) {
          ASSERT_GE(cosine(ref.last_hidden_state.data.data() + t * H,
                           got.last_hidden_state.data.data() + t * H, H),
                    0.999)
              << "token " << t << " of " << input.batch << "x" << input.seq;
        }
    }
  }
}

TEST(Int8, SavedModelEqualsTheOneQuantizedInMemory) {
  const std::string dir = synthetic("odd-3class");
  const std::string out = test::temp_dir("int8-roundtrip");
  QuantizeOptions q;
  q.calibration_file = dir + "/golden.json";
  q.method = CalibrationMethod::percentile;
  q.ignore = {"encoder.layer.1.attention.self.key"};
  QuantizeReport report = quantize_model(dir, out, q);
  EXPECT_FALSE(report.spec.is_int8("encoder.layer.1.attention.self.query"));  // q/k/v go together
  EXPECT_TRUE(report.spec.is_int8("encoder.layer.1.output.dense"));
  LoadOptions in_memory;
  in_memory.quantize = report.spec;
  auto a = Model::load(dir, in_memory);
  auto b = Model::load(out);
  EXPECT_EQ(b->info().quantization.rfind("int8 15 of 18", 0), 0u) << b->info().quantization;
  const EncoderInput input =
      io::parse_encoder_input(test::read_file(dir + "/golden.json"), "golden.json");
  Stream sa(a, 1), sb(b, 1);
  EXPECT_EQ(sa.run(input).logits.data, sb.run(input).logits.data);
  // the INT8 directory is a normal model directory for every command
  auto inspect = test::run_cli({"inspect", "--model", out, "--json"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  auto j = nlohmann::json::parse(inspect.out);
  EXPECT_EQ(j["linears"][0]["precision"], "int8");
  EXPECT_EQ(j["linears"][6]["name"], "encoder.layer.1.attention.self.query");
  EXPECT_EQ(j["linears"][6]["precision"], "fp32");
}

// Static INT8 layers hand their output to the next one already quantized (the intermediate
// layer's epilogue requantizes for the output layer): the outputs must equal, bit for bit, the
// path that writes fp32 and quantizes it (taken while an observer watches the Linear inputs), on
// dense and sparse kernels, with and without SmoothQuant, on every ISA.
TEST(Int8, RequantizingEpilogueEqualsQuantizingTheFp32Output) {
  for (const std::string model : {"odd-3class", "tiny-sparse90-block4"}) {
    const std::string dir = synthetic(model);
    for (double smoothing : {0.0, 0.5}) {
      const std::string out =
          test::temp_dir("int8-requantize-" + model + (smoothing > 0 ? "-smoothed" : ""));
      QuantizeOptions q;
      q.calibration_file = dir + "/golden.json";
      q.activations = ActivationMode::static_range;
      q.smoothing_alpha = smoothing;
      q.threads = 1;
      quantize_model(dir, out, q);
      const EncoderInput input =
          io::parse_encoder_input(test::read_file(dir + "/golden.json"), "golden.json");
      for (auto isa : kernels::supported_isas())
        for (SparseMode mode : {SparseMode::off, SparseMode::force}) {
          SCOPED_TRACE(model + " smoothing " + std::to_string(smoothing) + " " +
                       test::isa_label(isa) + " " + sparse_mode_name(mode));
          LoadOptions load;
          load.isa = test::isa_label(isa);
          load.sparse.mode = mode;
          auto int8 = Model::load(out, load);
          Stream stream(int8, 2);
          RunOptions fused, unfused;
          fused.all_hidden_states = unfused.all_hidden_states = true;
          unfused.observe_linear_inputs = [](const LinearInputView&) {};
          const EncoderOutput a = stream.run(input, fused), b = stream.run(input, unfused);
          ASSERT_EQ(a.hidden_states.size(), b.hidden_states.size());
          for (size_t i = 0; i < a.hidden_states.size(); ++i)
            EXPECT_EQ(a.hidden_states[i].data, b.hidden_states[i].data) << "hidden state " << i;
          EXPECT_EQ(primary(a).data, primary(b).data);
        }
    }
  }
}

TEST(Int8, TrainedSst2WithinBudget) {
  SPARQ_SKIP_UNDER_ADDRESS_SANITIZER();
  for (auto mode : {ActivationMode::static_range, ActivationMode::dynamic}) {
    QuantizeOptions q;
    q.calibration_file = data("sst2/train.tsv");
    q.samples = 300;
    q.activations = mode;
    q.eval_benchmark = "sst2";
    q.eval_data = data("sst2/dev.tsv");
    q.threads = 2;
    QuantizeReport r = quantize_model(trained("sst2-dense"), test::temp_dir("int8-sst2"), q);
    ASSERT_TRUE(r.fp32_metric && r.int8_metric);
    const double drop = 100.0 * (*r.fp32_metric - *r.int8_metric);
    RecordProperty(std::string("sst2_drop_points_") + activation_mode_name(mode),
                   std::to_string(drop));
    EXPECT_LE(drop, mode == ActivationMode::static_range ? 0.5 : 0.3) << activation_mode_name(mode);
    EXPECT_EQ(r.calibration_sequences, 300);
  }
}

TEST(Int8, TrainedNerWithinBudget) {
  SPARQ_SKIP_UNDER_ADDRESS_SANITIZER();
  QuantizeOptions q;
  q.calibration_file = data("conll2003/train.txt");
  q.eval_benchmark = "conll2003";
  q.eval_data = data("conll2003/valid.txt");
  q.threads = 2;
  QuantizeReport r = quantize_model(trained("conll03-ner"), test::temp_dir("int8-ner"), q);
  const double drop = 100.0 * (*r.fp32_metric - *r.int8_metric);
  RecordProperty("ner_f1_drop_points", std::to_string(drop));
  EXPECT_LE(drop, 1.0);
}

TEST(Int8, AutoIgnoreKeepsWorstLayersUntilTheBudgetHolds) {
  QuantizeOptions q;
  q.calibration_file = data("sst2/train.tsv");
  q.samples = 100;
  q.eval_benchmark = "sst2";
  // every step re-evaluates; the first 100 dev sentences keep this quick under the sanitizers
  const std::string dev = test::read_file(data("sst2/dev.tsv"));
  size_t end = 0;
  for (int line = 0; line < 101 && end != std::string::npos; ++line) end = dev.find('\n', end + 1);
  q.eval_data = test::temp_dir("int8-auto-data") + "/dev.tsv";
  test::write_file(q.eval_data, dev.substr(0, end + 1));
  q.auto_ignore_points = -1.0;  // unreachable: every group ends up in fp32, worst first
  QuantizeReport r = quantize_model(trained("sst2-dense"), test::temp_dir("int8-auto"), q);
  ASSERT_FALSE(r.auto_ignored.empty());
  EXPECT_EQ(r.auto_ignored.front(), r.errors.front().linear);
  for (const auto& e : r.errors) EXPECT_FALSE(r.spec.is_int8(e.linear)) << e.linear;
}

// --- bad inputs --------------------------------------------------------------------------------

std::string quantize_error(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"quantize", "--model", synthetic("tiny"), "--out",
                                   test::temp_dir("int8-bad") + "/out"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = test::run_cli(args);
  EXPECT_FALSE(r.signaled);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  return r.err;
}

TEST(Int8Errors, CalibrationFileMissingEmptyOrWithoutText) {
  const std::string dir = test::temp_dir("int8-calib");
  EXPECT_NE(quantize_error({"--calib", dir + "/nope.tsv"}).find("nope.tsv"), std::string::npos);
  test::write_file(dir + "/empty.txt", "");
  EXPECT_NE(quantize_error({"--calib", dir + "/empty.txt"}).find("no calibration samples"),
            std::string::npos);
  test::write_file(dir + "/cols.tsv", "label\tscore\n1\t0.5\n");
  EXPECT_NE(quantize_error({"--calib", dir + "/cols.tsv"}).find("no text column"),
            std::string::npos);
  test::write_file(dir + "/bad.jsonl", "not json\n{\"x\": 1}\n");
  EXPECT_NE(quantize_error({"--calib", dir + "/bad.jsonl"}).find("none of the calibration samples"),
            std::string::npos);
}

TEST(Int8Errors, ZeroSamplesAndAlreadyQuantized) {
  const std::string calib = synthetic("tiny") + "/golden.json";
  EXPECT_NE(quantize_error({"--calib", calib, "--samples", "0"}).find("--samples"),
            std::string::npos);
  const std::string out = test::temp_dir("int8-twice") + "/q";
  QuantizeOptions q;
  q.calibration_file = calib;
  quantize_model(synthetic("tiny"), out, q);
  auto r = test::run_cli({"quantize", "--model", out, "--out", out + "2", "--calib", calib});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is already quantized"), std::string::npos) << r.err;
  auto again = test::run_cli({"run", "raw", "--model", out, "--input", calib, "--int8"});
  EXPECT_NE(again.err.find("is already quantized"), std::string::npos) << again.err;
}

TEST(Int8Errors, IgnorePatternMatchingNothingWarns) {
  auto r = test::run_cli({"quantize", "--model", synthetic("tiny"), "--out",
                          test::temp_dir("int8-warn") + "/q", "--calib",
                          synthetic("tiny") + "/golden.json", "--ignore", "encoder.layer.9.*"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: --ignore encoder.layer.9.* matches no Linear layer"),
            std::string::npos)
      << r.err;
}

class CorruptQuantizationJson : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir(std::string("int8-corrupt-") +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    QuantizeOptions q;
    q.calibration_file = synthetic("tiny") + "/golden.json";
    quantize_model(synthetic("tiny"), dir_, q);
    json_ = nlohmann::json::parse(test::read_file(dir_ + "/quantization.json"));
  }
  std::string load_error() {
    test::write_file(dir_ + "/quantization.json", json_.dump());
    auto r = test::run_cli({"inspect", "--model", dir_});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_FALSE(r.signaled);
    return r.err;
  }
  std::string dir_;
  nlohmann::json json_;
};

TEST_F(CorruptQuantizationJson, NotJson) {
  test::write_file(dir_ + "/quantization.json", "{\"format\": ");
  auto r = test::run_cli({"inspect", "--model", dir_});
  EXPECT_NE(r.err.find("quantization.json: not valid JSON"), std::string::npos) << r.err;
}

TEST_F(CorruptQuantizationJson, BadScaleZeroPointAndPrecision) {
  json_["layers"]["encoder.layer.0.output.dense"]["input_scale"] = -1;
  EXPECT_NE(load_error().find("input_scale -1 is not a positive number"), std::string::npos);
  json_["layers"]["encoder.layer.0.output.dense"]["input_scale"] = 0.1;
  json_["layers"]["encoder.layer.0.output.dense"]["input_zero_point"] = 300;
  EXPECT_NE(load_error().find("input_zero_point 300"), std::string::npos);
  json_["layers"]["encoder.layer.0.output.dense"]["input_zero_point"] = 3;
  json_["layers"]["encoder.layer.0.output.dense"]["precision"] = "int4";
  EXPECT_NE(load_error().find("precision 'int4'"), std::string::npos);
}

TEST_F(CorruptQuantizationJson, BadAttentionPrecision) {
  json_["attention"] = {{"precision", "int4"}};
  EXPECT_NE(load_error().find("'attention' {\"precision\":\"int4\"} is not"), std::string::npos);
  json_["attention"] = "int8";
  EXPECT_NE(load_error().find("'attention' \"int8\" is not"), std::string::npos);
}

TEST_F(CorruptQuantizationJson, MissingOrUnknownLayersAndFormat) {
  nlohmann::json saved = json_;
  json_["layers"].erase("encoder.layer.1.intermediate.dense");
  EXPECT_NE(load_error().find("does not say how layer 'encoder.layer.1.intermediate.dense' runs"),
            std::string::npos);
  json_ = saved;
  json_["layers"]["encoder.layer.7.output.dense"] = {{"precision", "int8"}};
  EXPECT_NE(load_error().find("'encoder.layer.7.output.dense' is not a Linear layer"),
            std::string::npos);
  json_ = saved;
  json_["format"] = "something-else";
  EXPECT_NE(load_error().find("'format' is not \"sparq-int8\""), std::string::npos);
  json_ = saved;
  json_["layers"]["encoder.layer.0.attention.self.key"]["input_scale"] = 0.5;  // q/k/v disagree
  EXPECT_NE(load_error().find("must share its quantization parameters"), std::string::npos);
  json_ = saved;
  json_["layers"]["encoder.layer.0.attention.self.key"]["precision"] =
      "fp32";  // the file still holds I8
  EXPECT_NE(load_error().find("'bert.encoder.layer.0.attention.self.key.weight' has dtype I8"),
            std::string::npos);
}

}  // namespace
}  // namespace sparq
