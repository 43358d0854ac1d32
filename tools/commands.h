// Each sparq subcommand registers its options and callback on the application.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>

#include "sparq/quantization.h"

namespace sparq::cli {

void register_inspect(CLI::App& app);
void register_run(CLI::App& app);
void register_bench(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_eval(CLI::App& app);
void register_quantize(CLI::App& app);
// The task subcommands of `sparq run` (text-classification, ner, ...).
void register_run_tasks(CLI::App& run);

// --threads for every command that runs a model: at least 1, default the physical cores.
CLI::Option* add_threads_option(CLI::App& command, int& threads);

// --int8 for every command that loads a model: quantize an fp32 model's encoder Linear layers at
// load (per-channel weights, dynamic activations); `spec` is set when the flag is given.
CLI::Option* add_int8_option(CLI::App& command, std::optional<QuantizationSpec>& spec);

// --isa for every command that loads a model (default: SPARQ_ISA, else the best supported).
CLI::Option* add_isa_option(CLI::App& command, std::string& isa);

}  // namespace sparq::cli
