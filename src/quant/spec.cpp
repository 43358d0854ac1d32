#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/mapped_file.h"
#include "quant/spec_io.h"
#include "sparq/quantization.h"

namespace sparq {

std::optional<ActivationMode> parse_activation_mode(std::string_view name) {
  if (name == "static") return ActivationMode::static_range;
  if (name == "dynamic") return ActivationMode::dynamic;
  return std::nullopt;
}

std::optional<CalibrationMethod> parse_calibration_method(std::string_view name) {
  if (name == "minmax") return CalibrationMethod::minmax;
  if (name == "percentile") return CalibrationMethod::percentile;
  if (name == "mse") return CalibrationMethod::mse;
  return std::nullopt;
}

std::optional<WeightRounding> parse_weight_rounding(std::string_view name) {
  if (name == "nearest") return WeightRounding::nearest;
  if (name == "gptq") return WeightRounding::gptq;
  return std::nullopt;
}

const char* activation_mode_name(ActivationMode mode) {
  return mode == ActivationMode::dynamic ? "dynamic" : "static";
}

const char* calibration_method_name(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::minmax:
      return "minmax";
    case CalibrationMethod::percentile:
      return "percentile";
    case CalibrationMethod::mse:
      return "mse";
  }
  return "?";
}

bool QuantizationSpec::is_int8(const std::string& linear) const {
  auto it = layers.find(linear);
  return it == layers.end() ? activations == ActivationMode::dynamic : it->second.int8;
}

void quantize_weight_symmetric(const float* w, int64_t out, int64_t in, bool per_channel, int8_t* q,
                               float* scales) {
  auto scale_of = [](float max_abs) { return max_abs > 0.0f ? max_abs / 127.0f : 1.0f; };
  float tensor_max = 0.0f;
  if (!per_channel) {
    for (int64_t i = 0; i < out * in; ++i) tensor_max = std::max(tensor_max, std::fabs(w[i]));
    scales[0] = scale_of(tensor_max);
  }
  for (int64_t o = 0; o < out; ++o) {
    float scale = scales[0];
    if (per_channel) {
      float row_max = 0.0f;
      for (int64_t i = 0; i < in; ++i) row_max = std::max(row_max, std::fabs(w[o * in + i]));
      scale = scales[o] = scale_of(row_max);
    }
    for (int64_t i = 0; i < in; ++i) {
      const float v = std::nearbyint(w[o * in + i] / scale);
      q[o * in + i] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
    }
  }
}

namespace quant {
namespace {

using nlohmann::json;

const json& require(const json& j, const char* key, const std::string& where,
                    const std::string& path) {
  auto it = j.find(key);
  if (it == j.end()) fail("{}: {} has no '{}'", path, where, key);
  return *it;
}

std::string require_string(const json& j, const char* key, const std::string& where,
                           const std::string& path) {
  const json& v = require(j, key, where, path);
  if (!v.is_string()) fail("{}: {} '{}' must be a string", path, where, key);
  return v.get<std::string>();
}

}  // namespace

QuantizationSpec read_quantization_json(const std::string& path,
                                        const std::vector<std::string>& linears) {
  json j;
  try {
    j = json::parse(io::read_text_file(path));
  } catch (const json::exception& e) {
    fail("{}: not valid JSON ({})", path, e.what());
  }
  if (!j.is_object()) fail("{}: not a JSON object", path);
  if (require_string(j, "format", "the file", path) != "sparq-int8")
    fail("{}: 'format' is not \"sparq-int8\"", path);
  const json& version = require(j, "version", "the file", path);
  if (!version.is_number_integer() || version.get<int>() != 1)
    fail("{}: 'version' {} is not supported (1)", path, version.dump());

  QuantizationSpec spec;
  const json& weights = require(j, "weights", "the file", path);
  if (!weights.is_object()) fail("{}: 'weights' must be an object", path);
  if (require_string(weights, "dtype", "weights", path) != "int8")
    fail("{}: weights dtype must be int8", path);
  const std::string granularity = require_string(weights, "granularity", "weights", path);
  if (granularity != "per_channel" && granularity != "per_tensor")
    fail("{}: weights granularity '{}' is not per_channel or per_tensor", path, granularity);
  spec.per_channel = granularity == "per_channel";

  const json& activations = require(j, "activations", "the file", path);
  if (!activations.is_object()) fail("{}: 'activations' must be an object", path);
  const std::string mode = require_string(activations, "mode", "activations", path);
  auto parsed_mode = parse_activation_mode(mode);
  if (!parsed_mode) fail("{}: activations mode '{}' is not static or dynamic", path, mode);
  spec.activations = *parsed_mode;
  if (activations.contains("method")) {
    auto m = parse_calibration_method(activations.value("method", ""));
    if (!m)
      fail("{}: activations method {} is not minmax, percentile or mse", path,
           activations["method"].dump());
    spec.method = *m;
  }
  spec.percentile = activations.value("percentile", 99.99);
  if (activations.contains("smoothing_alpha")) {
    const json& alpha = activations["smoothing_alpha"];
    if (!alpha.is_number() || alpha.get<double>() < 0.0 || alpha.get<double>() >= 1.0)
      fail("{}: activations smoothing_alpha {} is not a number in [0, 1)", path, alpha.dump());
    spec.smoothing_alpha = alpha.get<double>();
  }

  if (j.contains("attention")) {
    const json& attention = j["attention"];
    if (!attention.is_object() || !attention.contains("precision") ||
        !attention["precision"].is_string() ||
        (attention["precision"] != "int8" && attention["precision"] != "fp32"))
      fail("{}: 'attention' {} is not {{\"precision\": \"int8\" or \"fp32\"}}", path,
           attention.dump());
    spec.int8_attention = attention["precision"] == "int8";
  }

  const json& layers = require(j, "layers", "the file", path);
  if (!layers.is_object()) fail("{}: 'layers' must be an object", path);
  for (auto& [name, entry] : layers.items()) {
    if (std::find(linears.begin(), linears.end(), name) == linears.end())
      fail("{}: layer '{}' is not a Linear layer of this model", path, name);
    if (!entry.is_object()) fail("{}: layer '{}' must be an object", path, name);
    LinearQuantization q;
    const std::string precision = require_string(entry, "precision", "layer '" + name + "'", path);
    if (precision != "int8" && precision != "fp32")
      fail("{}: layer '{}' precision '{}' is not int8 or fp32", path, name, precision);
    q.int8 = precision == "int8";
    q.note = entry.value("note", "");
    if (q.int8 && spec.activations == ActivationMode::static_range) {
      const json& scale = require(entry, "input_scale", "layer '" + name + "'", path);
      const json& zero = require(entry, "input_zero_point", "layer '" + name + "'", path);
      if (!scale.is_number() || !(scale.get<double>() > 0.0) ||
          !std::isfinite(scale.get<double>()) || scale.get<double>() > 1e30)
        fail("{}: layer '{}' input_scale {} is not a positive number", path, name, scale.dump());
      if (!zero.is_number_integer() || zero.get<int64_t>() < 0 || zero.get<int64_t>() > 255)
        fail("{}: layer '{}' input_zero_point {} is not an integer in [0, 255]", path, name,
             zero.dump());
      q.input_scale = scale.get<float>();
      q.input_zero_point = zero.get<int32_t>();
    }
    spec.layers[name] = q;
  }
  for (const auto& name : linears)
    if (!spec.layers.count(name)) fail("{}: does not say how layer '{}' runs", path, name);
  if (j.contains("provenance") && j["provenance"].is_object())
    for (auto& [k, v] : j["provenance"].items())
      if (v.is_string()) spec.provenance[k] = v.get<std::string>();
  return spec;
}

void write_quantization_json(const std::string& path, const QuantizationSpec& spec,
                             const std::vector<std::string>& linears) {
  json layers = json::object();
  for (const auto& name : linears) {
    json entry;
    auto it = spec.layers.find(name);
    const bool int8 = spec.is_int8(name);
    entry["precision"] = int8 ? "int8" : "fp32";
    if (int8 && spec.activations == ActivationMode::static_range && it != spec.layers.end()) {
      entry["input_scale"] = it->second.input_scale;
      entry["input_zero_point"] = it->second.input_zero_point;
    }
    if (it != spec.layers.end() && !it->second.note.empty()) entry["note"] = it->second.note;
    layers[name] = entry;
  }
  json activations = {{"dtype", "uint8"}, {"mode", activation_mode_name(spec.activations)}};
  if (spec.smoothing_alpha > 0) activations["smoothing_alpha"] = spec.smoothing_alpha;
  if (spec.activations == ActivationMode::static_range) {
    activations["method"] = calibration_method_name(spec.method);
    if (spec.method == CalibrationMethod::percentile) activations["percentile"] = spec.percentile;
  }
  json j = {{"format", "sparq-int8"},
            {"version", 1},
            {"weights",
             {{"dtype", "int8"},
              {"scheme", "symmetric"},
              {"granularity", spec.per_channel ? "per_channel" : "per_tensor"}}},
            {"activations", activations},
            {"attention", {{"precision", spec.int8_attention ? "int8" : "fp32"}}},
            {"layers", layers},
            {"provenance", spec.provenance}};
  std::ofstream out(path, std::ios::trunc);
  out << j.dump(2) << "\n";
  if (!out) fail("cannot write {}", path);
}

}  // namespace quant
}  // namespace sparq
