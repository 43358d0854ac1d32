// sparq quantize: calibrate an fp32 model on sample inputs, measure each layer's INT8 error,
// honour ignore patterns and the accuracy budget, and write the INT8 model.
#include <fnmatch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "core/error.h"
#include "io/safetensors.h"
#include "kernels/qgemm.h"
#include "model/bert_forward.h"
#include "model/model_impl.h"
#include "pipelines/batching.h"
#include "quant/calibration_data.h"
#include "quant/gptq.h"
#include "quant/spec_io.h"
#include "sparq/evaluation.h"
#include "sparq/quantization.h"

namespace sparq {
namespace {

using model::LinearSlot;

constexpr int kSlots = 4;
constexpr int kHistogramBins = 4096;
// The error pass runs each Linear twice more per sequence; a subset measures it well enough.
constexpr size_t kErrorSequences = 96;

// Value range and histogram of one Linear input over the valid (unpadded) rows.
struct InputStats {
  float min = std::numeric_limits<float>::infinity();
  float max = -std::numeric_limits<float>::infinity();
  std::vector<double> histogram;
  double count = 0;

  double bin_width() const { return (static_cast<double>(max) - min) / kHistogramBins; }
  double bin_center(size_t b) const { return min + (static_cast<double>(b) + 0.5) * bin_width(); }

  // The value below which a fraction q of the observations lie.
  double quantile(double q) const {
    const double target = q * count;
    double seen = 0;
    for (size_t b = 0; b < histogram.size(); ++b) {
      if (seen + histogram[b] >= target) {
        const double within = histogram[b] > 0 ? (target - seen) / histogram[b] : 0.0;
        return min + (static_cast<double>(b) + within) * bin_width();
      }
      seen += histogram[b];
    }
    return max;
  }

  // Expected squared error of quantizing these observations with the parameters of [lo, hi].
  double squared_error(double lo, double hi) const {
    const kernels::QuantParams p =
        kernels::quant_params_for_range(static_cast<float>(lo), static_cast<float>(hi));
    double error = 0;
    for (size_t b = 0; b < histogram.size(); ++b) {
      if (histogram[b] == 0) continue;
      const double v = bin_center(b);
      const double q = std::clamp(std::nearbyint(v / p.scale) + p.zero_point, 0.0, 255.0);
      const double d = v - (q - p.zero_point) * p.scale;
      error += histogram[b] * d * d;
    }
    return error;
  }
};

template <typename Visit>
void for_each_valid_row(const LinearInputView& v, Visit visit) {
  for (int64_t r = 0; r < v.rows; ++r)
    if (!v.attention_mask || v.attention_mask[r]) visit(v.data + r * v.ld);
}

kernels::QuantParams choose_range(const InputStats& s, const QuantizeOptions& o) {
  switch (o.method) {
    case CalibrationMethod::minmax:
      return kernels::quant_params_for_range(s.min, s.max);
    case CalibrationMethod::percentile: {
      const double tail = 1.0 - o.percentile / 100.0;
      return kernels::quant_params_for_range(static_cast<float>(s.quantile(tail)),
                                             static_cast<float>(s.quantile(1.0 - tail)));
    }
    case CalibrationMethod::mse: {
      // the clipping that minimizes the expected squared error, over a grid of quantiles per side
      const double keep[] = {1.0, 0.99999, 0.9999, 0.999, 0.998, 0.995, 0.99, 0.98, 0.95};
      double best = std::numeric_limits<double>::infinity(), best_lo = s.min, best_hi = s.max;
      for (double a : keep)
        for (double b : keep) {
          const double lo = a == 1.0 ? s.min : s.quantile(1.0 - a),
                       hi = b == 1.0 ? s.max : s.quantile(b);
          const double e = s.squared_error(lo, hi);
          if (e < best) best = e, best_lo = lo, best_hi = hi;
        }
      return kernels::quant_params_for_range(static_cast<float>(best_lo),
                                             static_cast<float>(best_hi));
    }
  }
  return {};
}

bool pattern_matches(const std::string& pattern, const std::string& name) {
  if (pattern.find_first_of("*?[") != std::string::npos)
    return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
  return name.find(pattern) != std::string::npos;
}

// The group of Linear layers that share an input (query/key/value), which therefore share a
// precision.
std::vector<std::string> group_of(const std::string& linear) {
  for (const char* part :
       {".attention.self.query", ".attention.self.key", ".attention.self.value"}) {
    const size_t at = linear.find(part);
    if (at != std::string::npos) {
      const std::string layer = linear.substr(0, at);
      return {layer + ".attention.self.query", layer + ".attention.self.key",
              layer + ".attention.self.value"};
    }
  }
  return {linear};
}

void keep_fp32(QuantizationSpec& spec, const std::string& linear, const std::string& note) {
  for (const auto& name : group_of(linear)) {
    LinearQuantization& q = spec.layers[name];
    q.int8 = false;
    q.note = note;
  }
}

const std::vector<std::string> kCopiedFiles = {
    "config.json",           "tokenizer.json",          "vocab.txt",
    "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"};

void write_int8_directory(const std::string& source, const std::string& output,
                          const QuantizationSpec& spec, const std::vector<std::string>& eligible) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(output, ec);
  if (ec) fail("cannot create {}: {}", output, ec.message());
  for (const auto& file : kCopiedFiles)
    if (fs::exists(source + "/" + file)) {
      fs::copy_file(source + "/" + file, output + "/" + file, fs::copy_options::overwrite_existing,
                    ec);
      if (ec) fail("cannot copy {} to {}: {}", file, output, ec.message());
    }
  io::SafetensorsFile in(source + "/model.safetensors");
  const std::string prefix = in.find("bert.embeddings.word_embeddings.weight") ? "bert." : "";
  std::map<std::string, std::string> weight_to_linear;
  for (const auto& linear : eligible)
    if (spec.is_int8(linear)) weight_to_linear[prefix + linear + ".weight"] = linear;

  std::vector<io::TensorToWrite> tensors;
  std::vector<std::vector<int8_t>> quantized;
  std::vector<std::vector<float>> scales;
  quantized.reserve(weight_to_linear.size());
  scales.reserve(weight_to_linear.size());
  for (const io::TensorInfo& t : in.tensors()) {
    auto it = weight_to_linear.find(t.name);
    if (it == weight_to_linear.end()) {
      tensors.push_back({t.name, t.dtype, t.shape, t.data, t.byte_size});
      continue;
    }
    const int64_t out = t.shape[0], in_features = t.shape[1];
    std::vector<float> w(t.element_count);
    io::read_as_f32(t, w.data());
    const LinearQuantization& layer = spec.layers.at(it->second);
    const std::vector<float>& factors = layer.smoothing;
    if (!layer.weight.empty()) {
      quantized.push_back(layer.weight);
      scales.push_back(layer.weight_scales);
    } else {
      for (int64_t r = 0; r < out && !factors.empty(); ++r)
        for (int64_t j = 0; j < in_features; ++j)
          w[static_cast<size_t>(r * in_features + j)] *= factors[static_cast<size_t>(j)];
      quantized.emplace_back(t.element_count);
      scales.emplace_back(spec.per_channel ? static_cast<size_t>(out) : 1);
      quantize_weight_symmetric(w.data(), out, in_features, spec.per_channel,
                                quantized.back().data(), scales.back().data());
    }
    tensors.push_back(
        {t.name, io::DType::I8, t.shape, quantized.back().data(), quantized.back().size()});
    tensors.push_back({t.name + "_scale",
                       io::DType::F32,
                       {static_cast<int64_t>(scales.back().size())},
                       scales.back().data(),
                       scales.back().size() * sizeof(float)});
    if (!factors.empty()) {
      const std::string base = t.name.substr(0, t.name.size() - std::string(".weight").size());
      tensors.push_back({base + ".input_smoothing",
                         io::DType::F32,
                         {in_features},
                         factors.data(),
                         factors.size() * sizeof(float)});
    }
  }
  io::write_safetensors(output + "/model.safetensors", tensors,
                        {{"format", "pt"}, {"quantization", "sparq-int8"}});
  quant::write_quantization_json(output + "/" + quant::kQuantizationFile, spec, eligible);
}

}  // namespace

QuantizeReport quantize_model(const std::string& model_directory,
                              const std::string& output_directory, const QuantizeOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  namespace fs = std::filesystem;
  if (o.samples < 1) fail("--samples must be at least 1, not {}", o.samples);
  if (!(o.percentile > 50.0 && o.percentile <= 100.0))
    fail("percentile {} must be in (50, 100]", o.percentile);
  if (output_directory.empty()) fail("no output directory");
  std::error_code ec;
  if (fs::exists(output_directory) && fs::equivalent(model_directory, output_directory, ec))
    fail("the output directory must differ from the model directory");
  if (fs::exists(model_directory + "/" + quant::kQuantizationFile))
    fail("{} is already quantized (it has {}); quantize its fp32 source instead", model_directory,
         quant::kQuantizationFile);
  if (o.auto_ignore_points && o.eval_benchmark.empty())
    fail(
        "--auto-ignore needs an evaluation (--eval TASK --data PATH) to measure the accuracy drop");
  std::optional<Benchmark> benchmark;
  if (!o.eval_benchmark.empty()) {
    benchmark = parse_benchmark(o.eval_benchmark);
    if (!benchmark)
      fail("unknown evaluation task '{}' (sst2, mrpc, conll2003, squad)", o.eval_benchmark);
    if (o.eval_data.empty()) fail("--eval needs --data");
  }
  auto progress = [&](const std::string& stage, int64_t done, int64_t total) {
    if (o.progress) o.progress(stage, done, total);
  };

  QuantizeReport report;
  LoadOptions load;
  load.isa = o.isa;
  auto fp32 = Model::load(model_directory, load);
  auto tokenizer = Tokenizer::load(model_directory);
  const ModelConfig& c = fp32->config();
  const std::vector<std::string> eligible = model::encoder_linear_names(c.num_hidden_layers);
  int64_t max_length = c.max_position_embeddings;
  if (tokenizer->model_max_length() > 0)
    max_length = std::min(max_length, tokenizer->model_max_length());
  if (o.max_length > 0) max_length = std::min(max_length, o.max_length);

  // calibration inputs
  auto samples = quant::read_calibration_file(o.calibration_file, o.samples);
  std::vector<Encoding> encodings;
  for (const auto& s : samples) {
    Encoding e;
    try {
      quant::encode_sample(*tokenizer, s, max_length, c.vocab_size, e);
      if (e.size() == 0) fail("no tokens");
    } catch (const Error&) {
      ++report.calibration_skipped;
      continue;
    }
    report.calibration_tokens += static_cast<int64_t>(e.size());
    encodings.push_back(std::move(e));
  }
  report.calibration_sequences = static_cast<int64_t>(encodings.size());
  if (encodings.empty())
    fail("{}: none of the calibration samples could be tokenized", o.calibration_file);
  if (report.calibration_skipped > 0)
    report.warnings.push_back(
        fmt::format("{} calibration samples could not be used (empty, invalid UTF-8 or bad ids)",
                    report.calibration_skipped));
  std::vector<const Encoding*> all;
  for (const auto& e : encodings) all.push_back(&e);

  Stream stream(fp32, o.threads);
  auto run_pass = [&](const std::string& stage, const std::vector<const Encoding*>& inputs,
                      const std::function<void(const LinearInputView&)>& observe) {
    RunOptions run;
    run.observe_linear_inputs = observe;
    int64_t done = 0;
    const int64_t total = static_cast<int64_t>(inputs.size());
    for (size_t first = 0; first < inputs.size(); first += 64) {
      std::vector<const Encoding*> chunk(
          inputs.begin() + static_cast<std::ptrdiff_t>(first),
          inputs.begin() + static_cast<std::ptrdiff_t>(std::min(inputs.size(), first + 64)));
      pipelines::run_in_batches(stream, tokenizer->pad_token_id(), chunk, o.batch_size, run,
                                [](size_t, const EncoderOutput&, int64_t, int64_t) {});
      done += static_cast<int64_t>(chunk.size());
      progress(stage, done, total);
    }
  };

  QuantizationSpec spec;
  spec.per_channel = o.per_channel;
  spec.activations = o.activations;
  spec.method = o.method;
  spec.percentile = o.percentile;
  if (!(o.smoothing_alpha >= 0.0 && o.smoothing_alpha < 1.0))
    fail("smoothing alpha {} must be in [0, 1)", o.smoothing_alpha);
  spec.smoothing_alpha = o.smoothing_alpha;
  spec.int8_attention = o.int8_attention;
  for (const auto& name : eligible) spec.layers[name] = LinearQuantization{};
  const int64_t slots = c.num_hidden_layers * kSlots;

  // SmoothQuant: per input channel, the largest activation against the largest weight
  std::vector<std::vector<float>> inverse_factors(
      static_cast<size_t>(slots));  // applied to activations
  if (spec.smoothing_alpha > 0) {
    std::vector<std::vector<float>> absmax(static_cast<size_t>(slots));
    run_pass("calibration: smoothing", all, [&](const LinearInputView& v) {
      auto& m = absmax[static_cast<size_t>(v.layer * kSlots + v.slot)];
      m.resize(static_cast<size_t>(v.cols), 0.0f);
      for_each_valid_row(v, [&](const float* row) {
        for (int64_t j = 0; j < v.cols; ++j)
          m[static_cast<size_t>(j)] = std::max(m[static_cast<size_t>(j)], std::fabs(row[j]));
      });
    });
    const io::SafetensorsFile& file = *fp32->impl().bert.file;
    const std::string prefix = file.find("bert.embeddings.word_embeddings.weight") ? "bert." : "";
    for (int64_t l = 0; l < c.num_hidden_layers; ++l)
      for (int slot = 0; slot < kSlots; ++slot) {
        const auto names = model::linear_names(l, static_cast<LinearSlot>(slot));
        const auto& ax = absmax[static_cast<size_t>(l * kSlots + slot)];
        std::vector<float> aw(ax.size(), 0.0f);
        for (const auto& name : names) {
          const io::TensorInfo* t = file.find(prefix + name + ".weight");
          std::vector<float> w(t->element_count);
          io::read_as_f32(*t, w.data());
          const int64_t in = t->shape[1];
          for (size_t i = 0; i < w.size(); ++i)
            aw[i % static_cast<size_t>(in)] =
                std::max(aw[i % static_cast<size_t>(in)], std::fabs(w[i]));
        }
        std::vector<float> factors(ax.size());
        auto& inverse = inverse_factors[static_cast<size_t>(l * kSlots + slot)];
        inverse.resize(ax.size());
        for (size_t j = 0; j < ax.size(); ++j) {
          const double f = std::pow(std::max<double>(ax[j], 1e-5), spec.smoothing_alpha) /
                           std::pow(std::max<double>(aw[j], 1e-5), 1.0 - spec.smoothing_alpha);
          factors[j] = static_cast<float>(std::clamp(f, 1e-3, 1e3));
          inverse[j] = 1.0f / factors[j];
        }
        for (const auto& name : names) spec.layers[name].smoothing = factors;
      }
  }
  // the activations the INT8 layers will see: smoothed when smoothing is on
  auto for_each_value = [&](const LinearInputView& v, auto visit) {
    const auto& inverse = inverse_factors[static_cast<size_t>(v.layer * kSlots + v.slot)];
    for_each_valid_row(v, [&](const float* row) {
      if (inverse.empty())
        for (int64_t j = 0; j < v.cols; ++j) visit(row[j]);
      else
        for (int64_t j = 0; j < v.cols; ++j) visit(row[j] * inverse[static_cast<size_t>(j)]);
    });
  };
  if (o.activations == ActivationMode::static_range) {
    std::vector<InputStats> stats(static_cast<size_t>(slots));
    auto slot_stats = [&](const LinearInputView& v) -> InputStats& {
      return stats[static_cast<size_t>(v.layer * kSlots + v.slot)];
    };
    run_pass("calibration: ranges", all, [&](const LinearInputView& v) {
      InputStats& s = slot_stats(v);
      for_each_value(v, [&](float x) {
        s.min = std::min(s.min, x);
        s.max = std::max(s.max, x);
      });
    });
    if (o.method != CalibrationMethod::minmax) {
      for (auto& s : stats) s.histogram.assign(kHistogramBins, 0.0);
      run_pass("calibration: histograms", all, [&](const LinearInputView& v) {
        InputStats& s = slot_stats(v);
        const double scale =
            s.max > s.min ? kHistogramBins / (static_cast<double>(s.max) - s.min) : 0.0;
        for_each_value(v, [&](float x) {
          const auto b =
              static_cast<size_t>(std::clamp<double>((x - s.min) * scale, 0.0, kHistogramBins - 1));
          s.histogram[b] += 1;
          s.count += 1;
        });
      });
    }
    for (int64_t l = 0; l < c.num_hidden_layers; ++l)
      for (int slot = 0; slot < kSlots; ++slot) {
        const kernels::QuantParams p =
            choose_range(stats[static_cast<size_t>(l * kSlots + slot)], o);
        for (const auto& name : model::linear_names(l, static_cast<LinearSlot>(slot))) {
          spec.layers[name].input_scale = p.scale;
          spec.layers[name].input_zero_point = p.zero_point;
        }
      }
  }

  if (o.weights == WeightRounding::gptq) {
    const kernels::KernelTable& table = *fp32->impl().bert.kernels;
    core::ThreadPool pool(o.threads > 0 ? o.threads : 1);
    std::vector<std::vector<float>> hessians(static_cast<size_t>(slots));
    std::vector<float> rows;
    run_pass("calibration: hessians", all, [&](const LinearInputView& v) {
      auto& h = hessians[static_cast<size_t>(v.layer * kSlots + v.slot)];
      h.resize(static_cast<size_t>(v.cols * v.cols), 0.0f);
      rows.clear();
      for_each_value(v, [&](float x) { rows.push_back(x); });
      quant::add_gram(table, &pool, rows.data(), static_cast<int64_t>(rows.size()) / v.cols, v.cols,
                      h.data());
    });
    const io::SafetensorsFile& file = *fp32->impl().bert.file;
    const std::string prefix = file.find("bert.embeddings.word_embeddings.weight") ? "bert." : "";
    for (int64_t l = 0; l < c.num_hidden_layers; ++l)
      for (int slot = 0; slot < kSlots; ++slot) {
        auto& h = hessians[static_cast<size_t>(l * kSlots + slot)];
        const auto names = model::linear_names(l, static_cast<LinearSlot>(slot));
        const int64_t in = static_cast<int64_t>(std::sqrt(static_cast<double>(h.size())));
        std::vector<float> u;
        bool factored = false;
        for (double damping : {0.01, 0.1, 1.0})
          if ((factored = quant::gptq_factor(table, &pool, h, in, damping, u))) break;
        std::vector<float>().swap(h);
        if (!factored) {
          report.warnings.push_back(
              fmt::format("{}: the calibration inputs give no usable Hessian; rounded to nearest",
                          names.front()));
          continue;
        }
        for (const auto& name : names) {
          const io::TensorInfo* t = file.find(prefix + name + ".weight");
          const int64_t out = t->shape[0];
          std::vector<float> w(t->element_count);
          io::read_as_f32(*t, w.data());
          LinearQuantization& layer = spec.layers[name];
          for (int64_t r = 0; r < out && !layer.smoothing.empty(); ++r)
            for (int64_t j = 0; j < in; ++j)
              w[static_cast<size_t>(r * in + j)] *= layer.smoothing[static_cast<size_t>(j)];
          layer.weight.resize(w.size());
          layer.weight_scales.resize(o.per_channel ? static_cast<size_t>(out) : 1);
          quant::gptq_round(table, &pool, u, w.data(), out, in, o.per_channel, layer.weight.data(),
                            layer.weight_scales.data());
        }
      }
  }

  // every layer's error with all of them in INT8, which ranks them for --auto-ignore
  {
    LoadOptions all_int8 = load;
    all_int8.quantize = spec;
    auto int8 = Model::load(model_directory, all_int8);
    const model::BertModel& f = fp32->impl().bert;
    const model::BertModel& q = int8->impl().bert;
    std::map<std::string, std::pair<double, double>> sums;  // squared error, squared reference
    model::LinearScratch scratch;
    std::vector<float> y32, y8;
    auto slot_linear = [](const model::EncoderLayer& layer, int slot) -> const model::Linear& {
      switch (static_cast<LinearSlot>(slot)) {
        case LinearSlot::qkv:
          return layer.qkv;
        case LinearSlot::attention_output:
          return layer.attention_output;
        case LinearSlot::intermediate:
          return layer.intermediate;
        case LinearSlot::output:
          return layer.output;
      }
      return layer.qkv;
    };
    std::vector<const Encoding*> subset(
        all.begin(),
        all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), kErrorSequences)));
    run_pass("quantization error", subset, [&](const LinearInputView& v) {
      const model::Linear& lf = slot_linear(f.layers[static_cast<size_t>(v.layer)], v.slot);
      const model::Linear& lq = slot_linear(q.layers[static_cast<size_t>(v.layer)], v.slot);
      const int64_t n = lf.out_features;
      y32.resize(static_cast<size_t>(v.rows * n));
      y8.resize(static_cast<size_t>(v.rows * n));
      lf.forward(*f.kernels, v.data, v.rows, v.ld, y32.data(), n, kernels::Activation::none,
                 nullptr, 0, scratch, nullptr);
      lq.forward(*q.kernels, v.data, v.rows, v.ld, y8.data(), n, kernels::Activation::none, nullptr,
                 0, scratch, nullptr);
      const auto names = model::linear_names(v.layer, static_cast<LinearSlot>(v.slot));
      const int64_t part = n / static_cast<int64_t>(names.size());
      for (int64_t r = 0; r < v.rows; ++r) {
        if (v.attention_mask && !v.attention_mask[r]) continue;
        for (size_t k = 0; k < names.size(); ++k) {
          auto& [err, ref] = sums[names[k]];
          for (int64_t j = static_cast<int64_t>(k) * part; j < static_cast<int64_t>(k + 1) * part;
               ++j) {
            const double a = y32[static_cast<size_t>(r * n + j)],
                         b = y8[static_cast<size_t>(r * n + j)];
            err += (a - b) * (a - b);
            ref += a * a;
          }
        }
      }
    });
    for (const auto& name : eligible) {
      const auto& [err, ref] = sums[name];
      report.errors.push_back({name, ref > 0 ? std::sqrt(err / ref) : 0.0});
    }
    std::stable_sort(report.errors.begin(), report.errors.end(),
                     [](const LayerError& a, const LayerError& b) {
                       return a.relative_error > b.relative_error;
                     });
  }

  for (const auto& pattern : o.ignore) {
    bool matched = false;
    for (const auto& name : eligible)
      if (pattern_matches(pattern, name)) {
        matched = true;
        keep_fp32(spec, name, "ignored (--ignore " + pattern + ")");
      }
    if (!matched)
      report.warnings.push_back(
          fmt::format("--ignore {} matches no Linear layer of this model", pattern));
  }

  if (benchmark) {
    PipelineOptions po;
    po.load.isa = o.isa;
    po.threads = o.threads;
    po.batch_size = o.batch_size;
    const Task task = benchmark_task(*benchmark);
    auto evaluate_with = [&](const std::optional<QuantizationSpec>& q, const std::string& stage) {
      PipelineOptions options = po;
      options.load.quantize = q;
      auto pipeline = Pipeline::create(task, model_directory, options);
      EvaluationOptions eo;
      eo.progress = [&](int64_t done, int64_t total) { progress(stage, done, total); };
      EvaluationReport r = evaluate(*pipeline, *benchmark, o.eval_data, eo);
      report.metric = r.metrics.front().first;
      const double v = r.metrics.front().second;
      return *benchmark == Benchmark::squad ? v / 100.0 : v;
    };
    report.fp32_metric = evaluate_with(std::nullopt, "evaluation: fp32");
    report.int8_metric = evaluate_with(spec, "evaluation: int8");
    if (o.auto_ignore_points) {
      for (const LayerError& worst : report.errors) {
        if (100.0 * (*report.fp32_metric - *report.int8_metric) < *o.auto_ignore_points) break;
        if (!spec.is_int8(worst.linear)) continue;
        keep_fp32(spec, worst.linear, "auto-ignored (--auto-ignore)");
        report.auto_ignored.push_back(worst.linear);
        report.int8_metric = evaluate_with(spec, "evaluation: int8");
      }
    }
  }

  spec.provenance = {{"source_model", model_directory},
                     {"calibration_file", o.calibration_file},
                     {"calibration_sequences", std::to_string(report.calibration_sequences)},
                     {"calibration_tokens", std::to_string(report.calibration_tokens)},
                     {"tool", "sparq quantize"}};
  write_int8_directory(model_directory, output_directory, spec, eligible);
  report.spec = std::move(spec);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace sparq
