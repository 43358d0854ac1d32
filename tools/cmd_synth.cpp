// sparq synth: a complete model directory with random weights of a standard BERT shape and an
// exact sparsity, for benchmarks without downloads.
#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "sparq/synth.h"

namespace sparq::cli {
namespace {

struct SynthCliOptions {
  SynthOptions synth;
  std::string pattern = "unstructured";
  std::string out;
  bool json = false;
};

}  // namespace

void register_synth(CLI::App& app) {
  auto o = std::make_shared<SynthCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "synth", "Write a model directory with seeded random weights of a standard BERT shape");
  cmd->add_option("--arch", o->synth.arch, "Shape")
      ->check(CLI::IsMember(standard_bert_architectures()))
      ->capture_default_str();
  cmd->add_option("--sparsity", o->synth.sparsity,
                  "Fraction of zero weights in every encoder Linear layer, in [0, 1)")
      ->check(CLI::Range(0.0, 0.9999))
      ->capture_default_str();
  cmd->add_option("--pattern", o->pattern,
                  "unstructured (single weights) or block4 (groups of 4 input channels)")
      ->check(CLI::IsMember({"unstructured", "block4"}))
      ->capture_default_str();
  cmd->add_flag("--int8", o->synth.int8,
                "Quantize the weights to INT8 (per channel; dynamic activations)");
  cmd->add_option("--labels", o->synth.num_labels, "Labels of the classification head")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}))
      ->capture_default_str();
  cmd->add_option("--seed", o->synth.seed, "Random seed")->capture_default_str();
  add_isa_option(*cmd, o->synth.isa);
  cmd->add_option("--out", o->out, "Output directory")->required();
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] {
    o->synth.pattern = *parse_sparsity_pattern(o->pattern);
    const bool tty = isatty(STDERR_FILENO) == 1;
    if (tty)
      o->synth.progress = [](const std::string& stage) {
        fmt::print(stderr, "\rsynth: {:<40}", stage);
        std::fflush(stderr);
      };
    const SynthReport r = synthesize_model(o->synth, o->out);
    if (tty) fmt::print(stderr, "\r{:<48}\r", "");
    const double sparsity = r.encoder_linear_weights > 0
                                ? static_cast<double>(r.encoder_linear_zeros) /
                                      static_cast<double>(r.encoder_linear_weights)
                                : 0.0;
    if (o->json) {
      fmt::print("{}\n", nlohmann::json{{"out", o->out},
                                        {"arch", o->synth.arch},
                                        {"parameters", r.parameters},
                                        {"encoder_sparsity", sparsity},
                                        {"pattern", o->pattern},
                                        {"int8", o->synth.int8},
                                        {"seed", o->synth.seed},
                                        {"files", r.files},
                                        {"seconds", r.seconds}}
                             .dump(2));
      return;
    }
    const ModelConfig& c = r.config;
    fmt::print("wrote {} in {:.1f} s: {}\n", o->out, r.seconds, fmt::join(r.files, ", "));
    fmt::print("{}: {} layers, hidden {}, {} heads, intermediate {}, {} parameters{}\n",
               o->synth.arch, c.num_hidden_layers, c.hidden_size, c.num_attention_heads,
               c.intermediate_size, group_digits(r.parameters),
               o->synth.int8 ? ", INT8 weights" : "");
    fmt::print("encoder Linear weights: {:.2f}% zeros ({}), seed {}\n", 100.0 * sparsity,
               o->pattern, o->synth.seed);
  });
}

}  // namespace sparq::cli
