// sparq's one internal model form: a BERT encoder with its weights converted and pre-packed for
// one kernel table (fp32, or int8 per Linear layer). Loaders (safetensors today) build it; the
// forward pass and every tool consume it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/thread_pool.h"
#include "io/safetensors.h"
#include "kernels/kernels.h"
#include "sparq/config.h"
#include "sparq/model.h"
#include "sparq/quantization.h"
#include "sparse/sparse_weights.h"
#include "sparse/spmm.h"

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

// u8 rows on their way into an integer GEMM, with each row's scale and zero point when they are
// quantized per row at run time.
struct QuantizedRows {
  core::AlignedBuffer<uint8_t> values;  // [rows, padded cols]
  core::AlignedBuffer<float> scales;
  core::AlignedBuffer<int32_t> zero_points;
  void reserve(int64_t rows, int64_t padded_cols);
};

// Scratch memory of a Linear layer, owned by a stream's workspace: an INT8 layer's quantized
// input, and a sparse layer's transposed input.
struct LinearScratch {
  QuantizedRows input;
  sparse::SpmmScratch spmm;
};

// y = activation(x · W^T + b) (+ residual), W packed once for the model's kernel table: fp32, or
// int8 (symmetric, per channel or per tensor) with the input quantized to u8 on the way in; dense
// (GEMM panels) or sparse (rows of nonzero blocks, see sparse/).
struct Linear {
  int64_t in_features = 0;
  int64_t out_features = 0;
  core::AlignedBuffer<float> bias;
  core::AlignedBuffer<float> packed_weight;  // fp32 dense
  bool sparse = false;
  sparse::SparseWeights sparse_weight;  // fp32 or int8, when sparse

  bool int8 = false;
  core::AlignedBuffer<int8_t> packed_qweight;
  core::AlignedBuffer<int32_t> column_sums;  // zero-point compensation
  core::AlignedBuffer<float> weight_scales;  // [out_features], or [1] per tensor
  bool per_channel = true;
  bool dynamic_input = true;  // else the calibrated parameters below
  float input_scale = 1.0f;
  int32_t input_zero_point = 0;
  // SmoothQuant: x[:, j] is multiplied by input_smoothing[j] before quantization (the weights
  // were multiplied by its inverse); empty when the layer is not smoothed.
  core::AlignedBuffer<float> input_smoothing;
  const float* smoothing() const {
    return input_smoothing.size() ? input_smoothing.data() : nullptr;
  }

  void forward(const kernels::KernelTable& table, const float* x, int64_t rows, int64_t ldx,
               float* y, int64_t ldy, kernels::Activation activation, const float* residual,
               int64_t ldr, LinearScratch& scratch, core::ThreadPool* pool) const;

  // Whether this layer can hand its output to `next` already quantized: both INT8, and `next`
  // quantizes its input with static parameters, so the integer GEMM's epilogue can do it
  // ("requantize for the next layer") instead of writing fp32 that `next` reads back.
  bool requantizes_for(const Linear& next) const;
  // forward() with the output quantized for `next` into next_input (bytes equal to what
  // next.forward would make of the fp32 output), for next.forward_quantized.
  void forward_requantized(const kernels::KernelTable& table, const float* x, int64_t rows,
                           int64_t ldx, kernels::Activation activation, const Linear& next,
                           QuantizedRows& next_input, LinearScratch& scratch,
                           core::ThreadPool* pool) const;
  // forward() from an input quantized by the previous layer's forward_requantized.
  void forward_quantized(const kernels::KernelTable& table, const QuantizedRows& input,
                         int64_t rows, float* y, int64_t ldy, kernels::Activation activation,
                         const float* residual, int64_t ldr, LinearScratch& scratch,
                         core::ThreadPool* pool) const;
  // Bytes per row of this INT8 layer's quantized input.
  int64_t quantized_input_width(const kernels::KernelTable& table) const;
  size_t resident_bytes() const {
    return bias.bytes() + packed_weight.bytes() + packed_qweight.bytes() + column_sums.bytes() +
           weight_scales.bytes() + input_smoothing.bytes() + sparse_weight.bytes();
  }

 private:
  void quantize_input(const kernels::KernelTable& table, const float* x, int64_t rows, int64_t ldx,
                      QuantizedRows& input, core::ThreadPool* pool) const;
  void forward_int8(const kernels::KernelTable& table, const QuantizedRows& input, int64_t rows,
                    float* y, int64_t ldy, kernels::Activation activation, const float* residual,
                    int64_t ldr, const kernels::Requantize& requantize, LinearScratch& scratch,
                    core::ThreadPool* pool) const;
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
  std::optional<QuantizationSpec> quantization;  // set when Linear layers run in INT8
  bool int8_attention = false;  // attention's products in INT8 (QuantizationSpec::int8_attention)
};

// The checkpoint names of the Linear layers that read each of a layer's four inputs.
enum class LinearSlot : int { qkv = 0, attention_output = 1, intermediate = 2, output = 3 };
std::vector<std::string> linear_names(int64_t layer, LinearSlot slot);

}  // namespace sparq::model
