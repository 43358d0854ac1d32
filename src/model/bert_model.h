// sparq's one internal model form: a BERT encoder with its weights converted to fp32 and
// pre-packed for one kernel table. Loaders (safetensors today) build it; the forward pass and
// every tool consume it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/thread_pool.h"
#include "io/safetensors.h"
#include "kernels/kernels.h"
#include "sparq/config.h"
#include "sparq/model.h"

namespace sparq::model {

// An fp32 matrix either viewed in the memory-mapped file (F32 data, suitably aligned) or converted
// into memory of its own (F16/BF16).
struct FloatMatrix {
  const float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  core::AlignedBuffer<float> owned;
  size_t bytes() const { return static_cast<size_t>(rows * cols) * sizeof(float); }
};

// y = activation(x · W^T + b) (+ residual), W packed once for the model's kernel table.
struct Linear {
  int64_t in_features = 0;
  int64_t out_features = 0;
  core::AlignedBuffer<float> packed_weight;
  core::AlignedBuffer<float> bias;

  void forward(const kernels::KernelTable& table, const float* x, int64_t rows, int64_t ldx,
               float* y, int64_t ldy, kernels::Activation activation, const float* residual,
               int64_t ldr, core::ThreadPool* pool) const;
  size_t resident_bytes() const { return packed_weight.bytes() + bias.bytes(); }
};

struct LayerNorm {
  core::AlignedBuffer<float> gamma;
  core::AlignedBuffer<float> beta;
};

struct EncoderLayer {
  Linear qkv;  // query, key and value fused into one [3 * hidden, hidden] weight
  Linear attention_output;
  LayerNorm attention_norm;
  Linear intermediate;
  Linear output;
  LayerNorm output_norm;
};

struct BertModel {
  ModelConfig config;
  const kernels::KernelTable* kernels = nullptr;
  kernels::Activation hidden_activation = kernels::Activation::gelu_erf;
  TaskHead head = TaskHead::encoder;
  std::unique_ptr<io::SafetensorsFile> file;  // keeps mapped weights alive

  FloatMatrix word_embeddings;
  FloatMatrix position_embeddings;
  FloatMatrix token_type_embeddings;
  LayerNorm embedding_norm;
  std::vector<EncoderLayer> layers;
  bool has_pooler = false;
  Linear pooler;
  Linear classifier;  // classifier.* or qa_outputs.* (2 outputs: start, end)
};

}  // namespace sparq::model
