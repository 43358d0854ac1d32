// Each sparq subcommand registers its options and callback on the application.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>

#include "sparq/model.h"
#include "sparq/quantization.h"

namespace sparq::cli {

void register_inspect(CLI::App& app);
void register_run(CLI::App& app);
void register_bench(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_eval(CLI::App& app);
void register_quantize(CLI::App& app);
void register_synth(CLI::App& app);
// The task subcommands of `sparq run` (text-classification, ner, ...).
void register_run_tasks(CLI::App& run);

// --threads for every command that runs a model: at least 1, default the physical cores.
CLI::Option* add_threads_option(CLI::App& command, int& threads);

// The options of every command that loads a model: --isa (default: SPARQ_ISA, else the best
// supported), --int8 (quantize an fp32 model's encoder Linear layers at load: per-channel
// weights, dynamic activations), --sparse off|auto|force and --sparse-threshold R.
void add_load_options(CLI::App& command, LoadOptions& load);

// --isa alone, for commands that load a model in a way of their own (quantize).
CLI::Option* add_isa_option(CLI::App& command, std::string& isa);

}  // namespace sparq::cli
