// A loaded model: weights validated, converted and pre-packed once, immutable afterwards, so any
// number of streams (see runtime.h) can share one copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sparq/config.h"
#include "sparq/quantization.h"

namespace sparq {

enum class TaskHead { encoder, sequence_classification, token_classification, question_answering };

const char* task_head_name(TaskHead head);

// Whether Linear layers run sparse kernels over their weight zeros.
enum class SparseMode {
  off,        // dense kernels everywhere
  automatic,  // sparse where the cost model predicts a gain (or sparsity >= threshold)
  force,      // sparse kernels for every layer, whatever its sparsity
};

struct SparseOptions {
  SparseMode mode = SparseMode::automatic;
  // With mode automatic: when >= 0, a layer runs sparse when its fraction of zero weights is at
  // least this (OpenVINO's CPU_SPARSE_WEIGHTS_DECOMPRESSION_RATE), instead of the cost model.
  double threshold = -1.0;
};

const char* sparse_mode_name(SparseMode mode);

struct LoadOptions {
  // Kernel ISA: "" for the process default (SPARQ_ISA, else the best this CPU supports), or one
  // of ref, avx2, avx512, avx512_vnni.
  std::string isa;
  // Quantize an fp32 model's encoder Linear layers to INT8 while loading, as the spec says (the
  // default spec: every layer, dynamic activations, per-channel weights). A model directory with
  // a quantization.json is INT8 already and cannot be quantized again.
  std::optional<QuantizationSpec> quantize;
  // Run attention's matrix products in INT8 (see QuantizationSpec::int8_attention) whatever the
  // model directory says; fp32 Linear layers may combine with it.
  bool int8_attention = false;
  SparseOptions sparse;
};

// One Linear weight as found in the checkpoint (before any fusion), with its sparsity.
struct LinearInfo {
  std::string name;  // checkpoint name without "bert." and ".weight"
  int64_t out_features = 0;
  int64_t in_features = 0;
  int64_t zeros = 0;               // exactly-zero weights
  int64_t blocks4 = 0;             // groups W[o, 4k:4k+4] (the last one short when 4 ∤ in)
  int64_t zero_blocks4 = 0;        // of which all four are zero
  int64_t zero_rows = 0;           // output channels with all weights zero
  int64_t zero_columns = 0;        // input channels no output reads
  std::string kernel;              // the kernel that runs it
  std::string format = "dense";    // or "sparse" (blocks of 1 or 4 input channels)
  int block = 0;                   // sparse: input channels per stored block
  double predicted_speedup = 1.0;  // the cost model's dense / sparse time for this layer
  size_t resident_bytes = 0;       // this weight's share of its packed layer
  std::string precision = "fp32";  // or "int8"
  std::string activations;         // INT8 input quantization: "dynamic" or "static"
  // one of the encoder layers' Linear weights (not the pooler or the task head)
  bool in_encoder() const { return name.rfind("encoder.", 0) == 0; }
  double sparsity() const {
    const int64_t weights = out_features * in_features;
    return weights > 0 ? static_cast<double>(zeros) / static_cast<double>(weights) : 0.0;
  }
  double block4_sparsity() const {
    return blocks4 > 0 ? static_cast<double>(zero_blocks4) / static_cast<double>(blocks4) : 0.0;
  }
};

struct ModelInfo {
  std::string directory;
  std::string architecture;  // as in config.json, or inferred from the tensors
  TaskHead head = TaskHead::encoder;
  bool has_pooler = false;
  bool bert_prefix = false;                  // encoder tensors were named "bert.*"
  std::string weights_dtype;                 // storage dtype(s) in the file, e.g. "F32" or "F16"
  int64_t parameter_count = 0;               // tensors used
  size_t file_bytes = 0;                     // model.safetensors size
  size_t resident_weight_bytes = 0;          // memory the loaded weights occupy (packed + mapped)
  std::vector<std::string> ignored_tensors;  // present but unused (e.g. the MLM head cls.*)
  std::string isa;
  std::string gemm_kernel;
  std::string layernorm_kernel;
  std::string softmax_kernel;
  std::string int8_gemm_kernel;
  std::string quantization = "none";  // or e.g. "int8 per_channel, static activations (percentile)"
  std::string attention = "fp32";     // precision of attention's two matrix products, or "int8"
  std::string sparse_mode;            // off, automatic (or automatic, threshold R), force
  std::string f32_sparse_kernel;
  std::string int8_sparse_kernel;
  std::vector<LinearInfo> linears;  // encoder layers' six Linear weights each, then pooler and head
  // resident bytes of the encoder layers' Linear weights (dense, sparse or INT8 as packed)
  size_t encoder_linear_bytes() const {
    size_t bytes = 0;
    for (const LinearInfo& l : linears)
      if (l.in_encoder()) bytes += l.resident_bytes;
    return bytes;
  }
  double load_seconds = 0.0;  // all of Model::load
  double read_seconds = 0.0;  // of which parsing and checking config and headers (the rest
                              // reads the mapped weights and prepacks them)
};

class Model {
 public:
  // Loads a Hugging Face model directory (config.json + model.safetensors).
  // Throws sparq::Error with a one-line reason for anything missing or malformed.
  static std::shared_ptr<const Model> load(const std::string& directory,
                                           const LoadOptions& options = {});

  ~Model();
  const ModelConfig& config() const;
  const ModelInfo& info() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparq
