// Malformed models, configs and inputs through the CLI: each gets exactly one line naming the
// problem on stderr, exit status 1, and no crash.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"

namespace sparq {
namespace {

using Json = nlohmann::ordered_json;

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = test::synthetic_dir() + "/tiny";
    dir_ = test::temp_dir(std::string("bad-") +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    config_ = Json::parse(test::read_file(source_ + "/config.json"));
    weights_ = test::read_raw_safetensors(source_ + "/model.safetensors");
  }

  // Writes the (possibly modified) model into the test's directory.
  void write_model() {
    test::write_file(dir_ + "/config.json", config_.dump(2));
    test::write_raw_safetensors(dir_ + "/model.safetensors", weights_.header, weights_.data);
  }

  // Runs a command expected to fail and checks the failure is one clear line containing `needle`.
  // Exit status 1 for errors in files and inputs, 2 for command-line usage errors.
  void expect_error(const std::vector<std::string>& args, const std::string& needle,
                    int status = 1) {
    auto r = test::run_cli(args);
    ASSERT_FALSE(r.signaled) << "killed by signal " << r.signal << "\n" << r.err;
    EXPECT_EQ(r.exit_code, status) << r.err;
    EXPECT_EQ(r.out, "");
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.rfind("sparq: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.err;
  }

  void expect_load_error(const std::string& needle) {
    expect_error({"inspect", "--model", dir_}, needle);
  }

  // Runs the unmodified model on an input file with the given contents.
  void expect_input_error(const std::string& input_json, const std::string& needle) {
    const std::string input = dir_ + "/input.json";
    test::write_file(input, input_json);
    expect_error({"run", "raw", "--model", source_, "--input", input}, needle);
  }

  Json& tensor(const std::string& name) { return weights_.header[name]; }

  std::string source_, dir_;
  Json config_;
  test::RawSafetensors weights_;
};

TEST_F(BadInput, TruncatedSafetensors) {
  weights_.data.resize(weights_.data.size() - 1000);
  write_model();
  expect_load_error("outside the");
}

TEST_F(BadInput, EmptySafetensors) {
  write_model();
  test::write_file(dir_ + "/model.safetensors", "");
  expect_load_error("too short for a safetensors header");
}

TEST_F(BadInput, HeaderLengthBeyondFile) {
  write_model();
  test::write_raw_safetensors(dir_ + "/model.safetensors", weights_.header, weights_.data,
                              static_cast<int64_t>(weights_.data.size()) * 2);
  expect_load_error("runs past the end");
}

TEST_F(BadInput, OffsetsOutOfRange) {
  tensor("bert.pooler.dense.bias")["data_offsets"] = {weights_.data.size(),
                                                      weights_.data.size() + 256};
  write_model();
  expect_load_error("lie outside the");
}

TEST_F(BadInput, OffsetsOverlap) {
  auto first = tensor("bert.embeddings.word_embeddings.weight")["data_offsets"];
  tensor("classifier.bias")["data_offsets"] = {first[0], first[0].get<uint64_t>() + 8};
  write_model();
  expect_load_error("overlap");
}

TEST_F(BadInput, WrongDtype) {
  // same byte size, integer dtype: the file is valid, the model is not
  tensor("bert.pooler.dense.bias")["dtype"] = "I32";
  write_model();
  expect_load_error("'bert.pooler.dense.bias' has dtype I32");
}

TEST_F(BadInput, UnknownDtype) {
  tensor("bert.pooler.dense.bias")["dtype"] = "Q4";
  write_model();
  expect_load_error("unknown dtype 'Q4'");
}

TEST_F(BadInput, ShapeContradictsConfig) {
  config_["intermediate_size"] = 128;
  write_model();
  expect_load_error(
      "'bert.encoder.layer.0.intermediate.dense.weight' has shape [256, 64] but config.json");
}

TEST_F(BadInput, LabelsContradictClassifier) {
  config_["id2label"] = {{"0", "A"}, {"1", "B"}, {"2", "C"}};
  config_.erase("label2id");
  write_model();
  expect_load_error("'classifier.weight' has shape [2, 64]");
}

TEST_F(BadInput, MissingTensor) {
  weights_.header.erase("bert.encoder.layer.1.attention.self.key.bias");
  // keep the buffer tiled: move the bytes it owned into a renamed neighbour would change sizes,
  // so mark the hole as an extra tensor of the same size under an unknown name instead
  write_model();
  expect_load_error("bytes");  // the reader sees the hole first
  weights_ = test::read_raw_safetensors(source_ + "/model.safetensors");
  Json entry = tensor("bert.encoder.layer.1.attention.self.key.bias");
  weights_.header.erase("bert.encoder.layer.1.attention.self.key.bias");
  weights_.header["bert.encoder.layer.1.attention.self.kee.bias"] = entry;
  write_model();
  expect_load_error("missing tensor bert.encoder.layer.1.attention.self.key.bias");
}

TEST_F(BadInput, UnexpectedTensor) {
  Json entry = tensor("classifier.bias");
  weights_.header.erase("classifier.bias");
  weights_.header["classifier.bias"] = entry;  // keep
  weights_.header["some.extra.tensor"] = {
      {"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {0, 0}}};
  write_model();
  expect_load_error("unexpected tensor some.extra.tensor");
}

TEST_F(BadInput, ConfigMissingField) {
  config_.erase("num_attention_heads");
  write_model();
  expect_load_error("required field 'num_attention_heads' is missing");
}

TEST_F(BadInput, ConfigAbsurdField) {
  config_["num_hidden_layers"] = 100000;
  write_model();
  expect_load_error("'num_hidden_layers' is 100000, outside the valid range");
}

TEST_F(BadInput, ConfigNotJson) {
  write_model();
  test::write_file(dir_ + "/config.json", "{\"hidden_size\": 64,");
  expect_load_error("config.json: not valid JSON");
}

TEST_F(BadInput, MissingFiles) {
  expect_error({"inspect", "--model", dir_ + "/nowhere"}, "does not exist");
  expect_load_error("has no config.json");
  test::write_file(dir_ + "/config.json", config_.dump());
  expect_load_error("has no model.safetensors");
}

TEST_F(BadInput, TokenIdBeyondVocabulary) {
  expect_input_error(R"({"input_ids": [[2, 17, 256, 3]]})",
                     "input_ids[0][2] = 256 is outside the vocabulary [0, 256)");
}

TEST_F(BadInput, NegativeTokenId) {
  expect_input_error(R"({"input_ids": [[2, -1, 3]]})", "input_ids[0][1] = -1");
}

TEST_F(BadInput, SequenceLongerThanMaxPositions) {
  Json ids = Json::array();
  for (int i = 0; i < 65; ++i) ids.push_back(5);
  expect_input_error(Json({{"input_ids", {ids}}}).dump(),
                     "sequence length 65 exceeds the model's max_position_embeddings 64");
}

TEST_F(BadInput, RaggedInputLists) {
  expect_input_error(R"({"input_ids": [[2, 5, 3], [2, 3]]})",
                     "'input_ids' row 1 has 2 values but row 0 has 3");
  expect_input_error(R"({"input_ids": [[2, 5, 3]], "attention_mask": [[1, 1]]})",
                     "'attention_mask' is 1 x 2 but 'input_ids' is 1 x 3");
}

TEST_F(BadInput, MaskShapeDiffers) {
  expect_input_error(R"({"input_ids": [[2, 5, 3]], "attention_mask": [[1, 1, 1], [1, 1, 1]]})",
                     "'attention_mask' is 2 x 3 but 'input_ids' is 1 x 3");
}

TEST_F(BadInput, BadMaskAndTypeValues) {
  expect_input_error(R"({"input_ids": [[2, 5, 3]], "attention_mask": [[1, 2, 1]]})",
                     "attention_mask[0][1] = 2");
  expect_input_error(R"({"input_ids": [[2, 5, 3]], "token_type_ids": [[0, 0, 2]]})",
                     "token_type_ids[0][2] = 2 is outside [0, 2)");
}

TEST_F(BadInput, InputNotJsonOrWrongShape) {
  expect_input_error("[1, 2", "not valid JSON");
  expect_input_error(R"({"attention_mask": [[1]]})", "'input_ids' is missing");
  expect_input_error(R"({"input_ids": [[2, "x", 3]]})",
                     "'input_ids'[0][1] is \"x\", not an integer");
  expect_input_error(R"({"input_ids": [[2, 1.5, 3]]})", "not an integer");
  expect_input_error(R"({"input_ids": []})", "has no sequences");
  expect_input_error(R"({"input_ids": [[]]})", "input sequences are empty");
  expect_input_error(R"({"input_ids": [[2, 99999999999, 3]]})", "out of range");
}

TEST_F(BadInput, BadOptions) {
  expect_error(
      {"run", "raw", "--model", source_, "--input", source_ + "/golden.json", "--threads", "0"},
      "--threads", 2);
  expect_error({"inspect"}, "--model is required", 2);
  expect_error({"inspect", "--model", source_, "--frobnicate"}, "--frobnicate", 2);
  expect_error({"inspect", "--model", source_, "--isa", "sse9"}, "ISA 'sse9' is not an ISA");
  auto env = test::run_cli({"inspect", "--model", source_}, {{"SPARQ_ISA", "mmx"}});
  EXPECT_EQ(env.exit_code, 1);
  EXPECT_NE(env.err.find("SPARQ_ISA 'mmx' is not an ISA"), std::string::npos) << env.err;
}

}  // namespace
}  // namespace sparq
