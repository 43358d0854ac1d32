// config.json parsing: the fields that change the math, and one clear error per broken field.
#include <gtest/gtest.h>

#include "sparq/config.h"
#include "sparq/error.h"
#include "test_util.h"

namespace sparq {
namespace {

nlohmann::json base_config() {
  return nlohmann::json::parse(test::read_file(test::synthetic_dir() + "/odd-3class/config.json"));
}

std::string error_of(const nlohmann::json& config) {
  try {
    parse_model_config(config.dump(), "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, ReadsEveryFieldThatChangesTheMath) {
  ModelConfig c = parse_model_config(base_config().dump(), "config.json");
  EXPECT_EQ(c.hidden_size, 72);
  EXPECT_EQ(c.num_attention_heads, 3);
  EXPECT_EQ(c.head_dim(), 24);
  EXPECT_EQ(c.num_hidden_layers, 3);
  EXPECT_EQ(c.intermediate_size, 200);
  EXPECT_EQ(c.max_position_embeddings, 70);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-6f);
  EXPECT_EQ(c.hidden_act, HiddenAct::gelu);
  EXPECT_EQ(c.num_labels(), 3);
  EXPECT_EQ(c.architectures.front(), "BertForSequenceClassification");
}

TEST(Config, ActivationsAndLabels) {
  auto c = base_config();
  c["hidden_act"] = "gelu_new";
  EXPECT_EQ(parse_model_config(c.dump(), "x").hidden_act, HiddenAct::gelu_tanh);
  c["hidden_act"] = "relu";
  EXPECT_EQ(parse_model_config(c.dump(), "x").hidden_act, HiddenAct::relu);
  c["id2label"] = {{"1", "POS"}, {"0", "NEG"}};
  c.erase("label2id");
  auto parsed = parse_model_config(c.dump(), "x");
  EXPECT_EQ(parsed.id2label, (std::vector<std::string>{"NEG", "POS"}));
  c.erase("id2label");
  EXPECT_EQ(parse_model_config(c.dump(), "x").num_labels(), 2);
  c["num_labels"] = 4;
  EXPECT_EQ(parse_model_config(c.dump(), "x").id2label.back(), "LABEL_3");
}

TEST(Config, MissingField) {
  auto c = base_config();
  c.erase("hidden_size");
  EXPECT_EQ(error_of(c), "config.json: required field 'hidden_size' is missing");
}

TEST(Config, AbsurdValues) {
  for (auto [field, value] :
       std::vector<std::pair<std::string, nlohmann::json>>{{"hidden_size", -5},
                                                           {"num_hidden_layers", 0},
                                                           {"vocab_size", 1ll << 40},
                                                           {"intermediate_size", 1 << 30},
                                                           {"max_position_embeddings", 0}}) {
    auto c = base_config();
    c[field] = value;
    EXPECT_NE(error_of(c).find("'" + field + "' is "), std::string::npos)
        << field << ": " << error_of(c);
  }
}

TEST(Config, WrongTypesAndInconsistencies) {
  auto c = base_config();
  c["hidden_size"] = "72";
  EXPECT_NE(error_of(c).find("must be an integer"), std::string::npos);
  c = base_config();
  c["num_attention_heads"] = 5;
  EXPECT_NE(error_of(c).find("not a multiple"), std::string::npos);
  c = base_config();
  c["hidden_act"] = "swish";
  EXPECT_NE(error_of(c).find("hidden_act 'swish'"), std::string::npos);
  c = base_config();
  c["layer_norm_eps"] = 0;
  EXPECT_NE(error_of(c).find("layer_norm_eps"), std::string::npos);
  c = base_config();
  c["model_type"] = "roberta";
  EXPECT_NE(error_of(c).find("model_type 'roberta'"), std::string::npos);
  c = base_config();
  c["position_embedding_type"] = "relative_key";
  EXPECT_NE(error_of(c).find("position_embedding_type"), std::string::npos);
  c = base_config();
  c["id2label"] = {{"0", "A"}, {"5", "B"}};
  EXPECT_NE(error_of(c).find("'id2label' key '5'"), std::string::npos);
  EXPECT_NE(error_of(nlohmann::json::array()).find("not a JSON object"), std::string::npos);
  try {
    parse_model_config("{not json", "config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos);
  }
}

}  // namespace
}  // namespace sparq
