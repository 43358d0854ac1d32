#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sparq/config.h"

namespace sparq {
namespace {

using nlohmann::json;

// Limits well beyond any published BERT-family model; a value outside them is a broken file.
struct IntField {
  const char* name;
  int64_t ModelConfig::*member;
  int64_t min;
  int64_t max;
  bool required;
};

constexpr IntField kIntFields[] = {
    {"vocab_size", &ModelConfig::vocab_size, 1, 1 << 24, true},
    {"hidden_size", &ModelConfig::hidden_size, 1, 1 << 16, true},
    {"num_hidden_layers", &ModelConfig::num_hidden_layers, 1, 1024, true},
    {"num_attention_heads", &ModelConfig::num_attention_heads, 1, 1024, true},
    {"intermediate_size", &ModelConfig::intermediate_size, 1, 1 << 18, true},
    {"max_position_embeddings", &ModelConfig::max_position_embeddings, 1, 1 << 20, true},
    {"type_vocab_size", &ModelConfig::type_vocab_size, 1, 1 << 16, true},
    {"pad_token_id", &ModelConfig::pad_token_id, 0, (1 << 24) - 1, false},
};

int64_t read_int(const json& config, const IntField& field, const std::string& source) {
  const json& v = config.at(field.name);
  if (!v.is_number_integer())
    fail("{}: '{}' must be an integer, got {}", source, field.name, v.dump());
  int64_t value = v.get<int64_t>();
  if (value < field.min || value > field.max)
    fail("{}: '{}' is {}, outside the valid range [{}, {}]", source, field.name, value, field.min,
         field.max);
  return value;
}

}  // namespace

ModelConfig parse_model_config(const std::string& json_text, const std::string& source) {
  json config;
  try {
    config = json::parse(json_text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON ({})", source, e.what());
  }
  if (!config.is_object()) fail("{}: not a JSON object", source);

  ModelConfig c;
  if (auto it = config.find("model_type"); it != config.end()) {
    if (!it->is_string()) fail("{}: 'model_type' must be a string", source);
    c.model_type = it->get<std::string>();
    if (c.model_type != "bert")
      fail("{}: model_type '{}' is not supported (sparq runs BERT encoders: model_type 'bert')",
           source, c.model_type);
  }
  if (auto it = config.find("architectures"); it != config.end() && !it->is_null()) {
    if (!it->is_array()) fail("{}: 'architectures' must be a list of strings", source);
    for (const auto& a : *it) {
      if (!a.is_string()) fail("{}: 'architectures' must be a list of strings", source);
      c.architectures.push_back(a.get<std::string>());
    }
  }
  for (const IntField& field : kIntFields) {
    if (!config.contains(field.name)) {
      if (field.required) fail("{}: required field '{}' is missing", source, field.name);
      continue;
    }
    if (config.at(field.name).is_null() && !field.required) continue;
    c.*field.member = read_int(config, field, source);
  }
  if (c.hidden_size % c.num_attention_heads != 0)
    fail("{}: 'hidden_size' {} is not a multiple of 'num_attention_heads' {}", source,
         c.hidden_size, c.num_attention_heads);
  if (c.pad_token_id >= c.vocab_size)
    fail("{}: 'pad_token_id' {} is not below 'vocab_size' {}", source, c.pad_token_id,
         c.vocab_size);

  if (auto it = config.find("hidden_act"); it != config.end()) {
    if (!it->is_string()) fail("{}: 'hidden_act' must be a string", source);
    c.hidden_act_name = it->get<std::string>();
    if (c.hidden_act_name == "gelu")
      c.hidden_act = HiddenAct::gelu;
    else if (c.hidden_act_name == "gelu_new" || c.hidden_act_name == "gelu_pytorch_tanh")
      c.hidden_act = HiddenAct::gelu_tanh;
    else if (c.hidden_act_name == "relu")
      c.hidden_act = HiddenAct::relu;
    else
      fail("{}: hidden_act '{}' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)", source,
           c.hidden_act_name);
  }
  if (auto it = config.find("layer_norm_eps"); it != config.end()) {
    if (!it->is_number()) fail("{}: 'layer_norm_eps' must be a number", source);
    double eps = it->get<double>();
    if (!(eps > 0.0 && eps < 1.0)) fail("{}: 'layer_norm_eps' is {}, outside (0, 1)", source, eps);
    c.layer_norm_eps = static_cast<float>(eps);
  }
  if (auto it = config.find("position_embedding_type"); it != config.end() && !it->is_null()) {
    if (!it->is_string() || it->get<std::string>() != "absolute")
      fail("{}: position_embedding_type {} is not supported (only \"absolute\")", source,
           it->dump());
  }
  if (auto it = config.find("problem_type"); it != config.end() && !it->is_null()) {
    if (!it->is_string()) fail("{}: 'problem_type' must be a string", source);
    c.problem_type = it->get<std::string>();
    if (c.problem_type != "single_label_classification" &&
        c.problem_type != "multi_label_classification" && c.problem_type != "regression")
      fail(
          "{}: problem_type '{}' is not one of single_label_classification, "
          "multi_label_classification, regression",
          source, c.problem_type);
  }

  // Labels: id2label when present (keys "0".."n-1"), else num_labels, else the default two.
  int64_t num_labels = -1;
  if (auto it = config.find("num_labels"); it != config.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 1000000)
      fail("{}: 'num_labels' must be an integer in [1, 1000000]", source);
    num_labels = it->get<int64_t>();
  }
  if (auto it = config.find("id2label"); it != config.end() && !it->is_null()) {
    if (!it->is_object()) fail("{}: 'id2label' must be an object mapping ids to names", source);
    int64_t n = static_cast<int64_t>(it->size());
    if (n < 1 || n > 1000000) fail("{}: 'id2label' has {} entries", source, n);
    c.id2label.assign(static_cast<size_t>(n), "");
    std::vector<bool> seen(static_cast<size_t>(n), false);
    for (auto& [key, value] : it->items()) {
      size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(key, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != key.size() || id < 0 || id >= n)
        fail("{}: 'id2label' key '{}' is not a label id in 0..{}", source, key, n - 1);
      if (!value.is_string()) fail("{}: 'id2label' entry '{}' is not a string", source, key);
      if (seen[static_cast<size_t>(id)]) fail("{}: 'id2label' names label id {} twice", source, id);
      seen[static_cast<size_t>(id)] = true;
      c.id2label[static_cast<size_t>(id)] = value.get<std::string>();
    }
    if (num_labels >= 0 && num_labels != n)
      fail("{}: 'num_labels' {} disagrees with the {} entries of 'id2label'", source, num_labels,
           n);
  } else {
    if (num_labels < 0) num_labels = 2;
    for (int64_t i = 0; i < num_labels; ++i) c.id2label.push_back("LABEL_" + std::to_string(i));
  }
  return c;
}

}  // namespace sparq
