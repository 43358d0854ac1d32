// INT8 post-training quantization: which Linear layers run in INT8 and with which activation
// parameters (a QuantizationSpec), how to calibrate one on sample inputs, and the on-disk form
// (documented in docs/quantization.md): int8 weights with per-channel (or per-tensor) scales in
// model.safetensors, and quantization.json.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sparq {

enum class ActivationMode {
  static_range,
  dynamic
};  // calibrated per tensor, or per row at run time
enum class CalibrationMethod { minmax, percentile, mse };  // how a calibrated range is chosen
enum class WeightRounding { nearest, gptq };               // how weights become int8

std::optional<ActivationMode> parse_activation_mode(std::string_view name);  // "static", "dynamic"
std::optional<CalibrationMethod> parse_calibration_method(std::string_view name);
const char* activation_mode_name(ActivationMode mode);
const char* calibration_method_name(CalibrationMethod method);
std::optional<WeightRounding> parse_weight_rounding(std::string_view name);  // "nearest", "gptq"

// How one Linear layer (named as in the checkpoint, without "bert." and ".weight") runs.
struct LinearQuantization {
  bool int8 = true;  // false: kept in fp32
  // static activations: x_q = clamp(round(x / input_scale) + input_zero_point, 0, 255)
  float input_scale = 1.0f;
  int32_t input_zero_point = 0;
  // SmoothQuant factors s[j] per input channel (empty: none): the layer computes
  // (x[:, j] / s[j]) · (W[:, j] * s[j]), moving activation outliers into the weights.
  std::vector<float> smoothing;
  // Weights already rounded by calibration (GPTQ), [out * in] row-major, with their scales
  // ([out], or [1] per tensor); empty: rounded to nearest when the model is built.
  std::vector<int8_t> weight;
  std::vector<float> weight_scales;
  std::string note;  // why a layer stays fp32 ("ignored", "auto-ignored"), for the record
};

struct QuantizationSpec {
  bool per_channel = true;
  ActivationMode activations = ActivationMode::dynamic;
  CalibrationMethod method = CalibrationMethod::minmax;  // static only
  double percentile = 99.99;
  double smoothing_alpha = 0.0;  // SmoothQuant migration strength; 0: no smoothing
  // Attention's two matrix products in INT8 as well: queries and probabilities quantized per row
  // at run time (u8), keys per key and values per channel (s8); softmax stays fp32.
  bool int8_attention = false;
  // Layers absent from the map run in INT8 (dynamic) or must be present (static).
  std::map<std::string, LinearQuantization> layers;
  // Free-form provenance written to quantization.json (calibration file, samples, ...).
  std::map<std::string, std::string> provenance;

  bool is_int8(const std::string& linear) const;
};

struct QuantizeOptions {
  std::string calibration_file;  // .tsv (GLUE), .jsonl, .txt (lines or CoNLL), .json (input_ids)
  int64_t samples = 300;         // calibration sequences, from the start of the file
  ActivationMode activations = ActivationMode::static_range;
  CalibrationMethod method = CalibrationMethod::minmax;
  double percentile = 99.99;
  bool per_channel = true;
  // SmoothQuant strength in [0, 1): s[j] = max|x[:, j]|^alpha / max|W[:, j]|^(1 - alpha); 0 turns
  // smoothing off. Computed from the calibration data, so static and dynamic activations both use
  // it.
  double smoothing_alpha = 0.5;
  // GPTQ rounds each weight column against the calibration inputs, compensating its error on the
  // columns still to round; nearest rounds each weight on its own.
  WeightRounding weights = WeightRounding::gptq;
  bool int8_attention = false;  // see QuantizationSpec
  // Layers kept in fp32: glob patterns (fnmatch) or substrings of checkpoint names such as
  // "encoder.layer.3.output.dense". Query, key and value share their input, so they go together.
  std::vector<std::string> ignore;
  // Keep the layers with the worst quantization error in fp32 until the metric drops less than
  // this many points (needs an evaluation: benchmark and data below).
  std::optional<double> auto_ignore_points;
  std::string eval_benchmark;  // "sst2", "mrpc", "conll2003", "squad", or "" for no evaluation
  std::string eval_data;
  std::string isa;
  int threads = 0;
  int64_t batch_size = 16;
  int64_t max_length = 0;
  // progress: (stage, done, total)
  std::function<void(const std::string&, int64_t, int64_t)> progress;
};

// One Linear layer's output error on the calibration data: ||y_int8 - y_fp32|| / ||y_fp32||.
struct LayerError {
  std::string linear;
  double relative_error = 0;
};

struct QuantizeReport {
  QuantizationSpec spec;
  int64_t calibration_sequences = 0;
  int64_t calibration_tokens = 0;
  int64_t calibration_skipped = 0;  // unusable lines (invalid UTF-8, empty, ...)
  std::vector<LayerError> errors;   // every INT8-eligible layer, worst first
  std::vector<std::string> warnings;
  // with an evaluation
  std::string metric;
  std::optional<double> fp32_metric, int8_metric;  // in [0, 1] (SQuAD: percent / 100)
  std::vector<std::string> auto_ignored;
  double seconds = 0;
};

// Calibrates an fp32 model directory and writes the INT8 model to `output_directory` (config,
// tokenizer files, model.safetensors with int8 weights, quantization.json). Throws sparq::Error
// for a bad calibration file, an already quantized model, or an output that cannot be written.
QuantizeReport quantize_model(const std::string& model_directory,
                              const std::string& output_directory, const QuantizeOptions& options);

// Symmetric int8 quantization of a weight [out, in]: scales[o] = max|W[o, :]| / 127 (per channel)
// or one scale for the tensor, q = clamp(round_half_even(w / scale), -127, 127).
void quantize_weight_symmetric(const float* w, int64_t out, int64_t in, bool per_channel, int8_t* q,
                               float* scales);

}  // namespace sparq
