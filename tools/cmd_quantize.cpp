// sparq quantize: INT8 post-training quantization with calibration and an accuracy report.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "sparq/quantization.h"

namespace sparq::cli {
namespace {

struct QuantizeCliOptions {
  std::string model, out, calib, isa;
  int64_t samples = 300;
  std::string method = "minmax";
  double percentile = 99.99;
  std::string activations = "static";
  double smooth_alpha = 0.5;
  std::string weights = "gptq";
  bool per_tensor = false;
  bool per_channel = false;
  bool int8_attention = false;
  std::vector<std::string> ignore;
  double auto_ignore = 0;
  std::string eval, data;
  int threads = 1;
  int64_t batch_size = 16;
  int64_t max_length = 0;
  bool json = false;
};

}  // namespace

void register_quantize(CLI::App& app) {
  auto o = std::make_shared<QuantizeCliOptions>();
  CLI::App* cmd =
      app.add_subcommand("quantize", "Quantize a model to INT8 with calibration (post-training)");
  cmd->add_option("--model", o->model, "fp32 model directory")->required();
  cmd->add_option("--out", o->out, "Directory for the INT8 model")->required();
  cmd->add_option("--calib", o->calib,
                  "Calibration data: .tsv (GLUE), .jsonl, .txt (one text per line, or CoNLL), "
                  ".json (input_ids)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--samples", o->samples, "Calibration sequences (from the start of the file)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--method", o->method, "Range of static activations: minmax, percentile or mse")
      ->check(CLI::IsMember({"minmax", "percentile", "mse"}))
      ->capture_default_str();
  cmd->add_option("--percentile", o->percentile, "Percentile kept by --method percentile")
      ->check(CLI::Range(50.000001, 100.0))
      ->capture_default_str();
  cmd->add_option("--activations", o->activations,
                  "static (calibrated per tensor) or dynamic (per row at run time)")
      ->check(CLI::IsMember({"static", "dynamic"}))
      ->capture_default_str();
  cmd->add_option(
         "--smooth-alpha", o->smooth_alpha,
         "SmoothQuant strength: activation outliers moved into the weights (0 turns it off)")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  cmd->add_option(
         "--weights", o->weights,
         "Weight rounding: gptq (error-compensating, uses the calibration data) or nearest")
      ->check(CLI::IsMember({"gptq", "nearest"}))
      ->capture_default_str();
  cmd->add_flag("--per-tensor", o->per_tensor,
                "One weight scale per tensor instead of per output channel");
  cmd->add_flag("--per-channel", o->per_channel,
                "One weight scale per output channel (the default)")
      ->excludes(cmd->get_option("--per-tensor"));
  cmd->add_flag("--int8-attention", o->int8_attention,
                "Attention's two matrix products in INT8 too (queries and probabilities per row, "
                "keys per key, values per channel); by default they stay fp32");
  cmd->add_option("--ignore", o->ignore,
                  "Keep matching Linear layers in fp32: glob or substring of names like "
                  "encoder.layer.3.output.dense (repeatable)");
  CLI::Option* auto_ignore = cmd->add_option("--auto-ignore", o->auto_ignore,
                                             "Keep the worst layers in fp32 until the metric drops "
                                             "less than this many points (needs --eval)")
                                 ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--eval", o->eval, "Evaluate fp32 and INT8: sst2, mrpc, conll2003 or squad")
      ->check(CLI::IsMember({"sst2", "mrpc", "conll2003", "squad"}));
  cmd->add_option("--data", o->data, "Evaluation data file for --eval");
  cmd->add_option("--batch-size", o->batch_size, "Sequences per forward pass")
      ->check(CLI::Range(int64_t{1}, int64_t{4096}))
      ->capture_default_str();
  cmd->add_option("--max-length", o->max_length,
                  "Tokens per calibration sequence (default: the model's limit)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  add_threads_option(*cmd, o->threads);
  add_isa_option(*cmd, o->isa);
  cmd->add_flag("--json", o->json, "Print the report as JSON");
  cmd->callback([o, auto_ignore] {
    QuantizeOptions q;
    q.calibration_file = o->calib;
    q.samples = o->samples;
    q.activations = *parse_activation_mode(o->activations);
    q.method = *parse_calibration_method(o->method);
    q.percentile = o->percentile;
    q.per_channel = !o->per_tensor;
    q.smoothing_alpha = o->smooth_alpha;
    q.int8_attention = o->int8_attention;
    q.weights = *parse_weight_rounding(o->weights);
    q.ignore = o->ignore;
    if (auto_ignore->count()) q.auto_ignore_points = o->auto_ignore;
    q.eval_benchmark = o->eval;
    q.eval_data = o->data;
    q.isa = o->isa;
    q.threads = o->threads;
    q.batch_size = o->batch_size;
    q.max_length = o->max_length;
    std::unique_ptr<ProgressBar> bar;
    std::string stage;
    q.progress = [&](const std::string& s, int64_t done, int64_t total) {
      if (s != stage) {
        bar = std::make_unique<ProgressBar>(s);
        stage = s;
      }
      bar->update(done, total);
    };
    QuantizeReport r = quantize_model(o->model, o->out, q);
    bar.reset();
    int64_t int8_layers = 0;
    for (const auto& [name, layer] : r.spec.layers) int8_layers += layer.int8;
    if (o->json) {
      nlohmann::json errors = nlohmann::json::array();
      for (const auto& e : r.errors)
        errors.push_back({{"linear", e.linear}, {"relative_error", e.relative_error}});
      nlohmann::json j = {{"output", o->out},
                          {"int8_layers", int8_layers},
                          {"layers", r.spec.layers.size()},
                          {"activations", o->activations},
                          {"method", o->method},
                          {"calibration_sequences", r.calibration_sequences},
                          {"calibration_tokens", r.calibration_tokens},
                          {"calibration_skipped", r.calibration_skipped},
                          {"layer_errors", errors},
                          {"auto_ignored", r.auto_ignored},
                          {"warnings", r.warnings},
                          {"seconds", r.seconds}};
      if (r.fp32_metric) {
        j["metric"] = r.metric;
        j["fp32"] = *r.fp32_metric;
        j["int8"] = *r.int8_metric;
        j["drop_points"] = 100.0 * (*r.fp32_metric - *r.int8_metric);
      }
      fmt::print("{}\n", j.dump(2));
      return;
    }
    for (const auto& w : r.warnings) fmt::print(stderr, "sparq: warning: {}\n", w);
    fmt::print(
        "wrote {}: {} of {} encoder Linear layers in INT8 ({} weights, {} activations{}) in {:.1f} "
        "s\n",
        o->out, int8_layers, r.spec.layers.size(), o->per_tensor ? "per-tensor" : "per-channel",
        o->activations, o->activations == "static" ? ", " + o->method : "", r.seconds);
    fmt::print("calibration: {} sequences, {} tokens from {}\n", r.calibration_sequences,
               r.calibration_tokens, o->calib);
    if (r.fp32_metric) {
      fmt::print("\n{:<10} {:>10} {:>10} {:>12}\n", r.metric, "fp32", "int8", "drop (pts)");
      fmt::print("{:<10} {:>10.4f} {:>10.4f} {:>12.2f}\n", o->eval, *r.fp32_metric, *r.int8_metric,
                 100.0 * (*r.fp32_metric - *r.int8_metric));
    }
    if (!r.auto_ignored.empty())
      fmt::print("\nkept in fp32 by --auto-ignore: {}\n", fmt::join(r.auto_ignored, ", "));
    fmt::print("\n{:<46} {:>14}  {}\n", "layer (worst INT8 error first)", "relative error",
               "runs in");
    for (size_t i = 0; i < r.errors.size() && i < 10; ++i)
      fmt::print("{:<46} {:>14.5f}  {}\n", r.errors[i].linear, r.errors[i].relative_error,
                 r.spec.is_int8(r.errors[i].linear) ? "int8" : "fp32");
  });
}

}  // namespace sparq::cli
