// The architecture of a BERT-family encoder, as read from a Hugging Face config.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparq {

enum class HiddenAct { gelu, gelu_tanh, relu };

struct ModelConfig {
  std::string model_type = "bert";
  std::vector<std::string> architectures;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t intermediate_size = 0;
  int64_t max_position_embeddings = 0;
  int64_t type_vocab_size = 0;
  int64_t pad_token_id = 0;
  HiddenAct hidden_act = HiddenAct::gelu;
  std::string hidden_act_name = "gelu";  // as written in config.json
  float layer_norm_eps = 1e-12f;
  std::vector<std::string> id2label;  // label names by id (LABEL_i when config.json has none)
  std::string
      problem_type;  // "", single_label_classification, multi_label_classification, regression

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  int64_t num_labels() const { return static_cast<int64_t>(id2label.size()); }
};

// Parses and validates config.json text; `source` names the file in error messages.
// Throws sparq::Error naming the field for a missing, mistyped or absurd value.
ModelConfig parse_model_config(const std::string& json_text, const std::string& source);

}  // namespace sparq
