// Synthetic models: a complete Hugging Face BERT directory with seeded random weights of a
// standard shape and an exact weight sparsity, so benchmarks and demos need no downloads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sparq/config.h"

namespace sparq {

enum class SparsityPattern {
  unstructured,  // single weights
  block4,        // groups of 4 consecutive input channels of one output row
};

std::optional<SparsityPattern> parse_sparsity_pattern(std::string_view name);
const char* sparsity_pattern_name(SparsityPattern pattern);

// The standard BERT shapes: bert-tiny (2 layers, hidden 128), bert-mini (4, 256), bert-small
// (4, 512), bert-base (12, 768), bert-large (24, 1024); vocabulary 30522, 512 positions.
std::optional<ModelConfig> standard_bert_config(std::string_view arch);
std::vector<std::string> standard_bert_architectures();

struct SynthOptions {
  std::string arch = "bert-base";
  double sparsity = 0.0;  // of every encoder Linear weight, in [0, 1)
  SparsityPattern pattern = SparsityPattern::unstructured;
  bool int8 = false;  // also quantize (per-channel weights, dynamic activations)
  uint64_t seed = 1;
  int64_t num_labels = 2;  // a sequence-classification head with this many labels
  int64_t calibration_lines = 300;
  std::string isa;  // kernels for the INT8 calibration pass ("" = default)
  std::function<void(const std::string& stage)> progress;
};

struct SynthReport {
  ModelConfig config;
  int64_t parameters = 0;
  int64_t encoder_linear_weights = 0;
  int64_t encoder_linear_zeros = 0;
  std::vector<std::string> files;
  double seconds = 0;
};

// Writes config.json, model.safetensors (F32, or INT8 with quantization.json), vocab.txt,
// tokenizer_config.json, special_tokens_map.json and calibration.txt (sentences of vocabulary
// words, usable with `sparq quantize --calib`) to `directory`, creating it. Weights are
// N(0, 0.02) like BERT's initialisation; LayerNorms start at identity. The same options always
// give the same files. Throws sparq::Error for an unknown arch, a sparsity outside [0, 1) or an
// unwritable directory.
SynthReport synthesize_model(const SynthOptions& options, const std::string& directory);

}  // namespace sparq
