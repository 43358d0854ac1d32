// sparq command-line tool: thin option parsing over the library.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "commands.h"
#include "core/cpu.h"
#include "sparq/error.h"

namespace sparq::cli {

CLI::Option* add_threads_option(CLI::App& command, int& threads) {
  threads = core::physical_core_count();
  return command
      .add_option("--threads", threads, "Threads for the computation (default: physical cores)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
}

void add_load_options(CLI::App& command, LoadOptions& load) {
  add_isa_option(command, load.isa);
  command.add_flag_callback(
      "--int8", [&load] { load.quantize = QuantizationSpec{}; },
      "Quantize the fp32 model to INT8 while loading (per-channel weights, dynamic activations)");
  command.add_flag(
      "--int8-attention", load.int8_attention,
      "Run attention's two matrix products in INT8 (queries and probabilities quantized per row, "
      "keys per key, values per channel)");
  auto* mode = command
                   .add_option_function<std::string>(
                       "--sparse",
                       [&load](const std::string& name) {
                         load.sparse.mode = name == "off"     ? SparseMode::off
                                            : name == "force" ? SparseMode::force
                                                              : SparseMode::automatic;
                       },
                       "Sparse kernels for pruned Linear layers: off, auto (where the cost "
                       "model predicts a gain; default) or force (every encoder layer)")
                   ->check(CLI::IsMember({"off", "auto", "force"}))
                   ->type_name("MODE");
  command
      .add_option("--sparse-threshold", load.sparse.threshold,
                  "Run a layer sparse when at least this fraction of its weights is zero "
                  "(instead of the cost model)")
      ->check(CLI::Range(0.0, 1.0))
      ->type_name("R")
      ->excludes(mode);
}

CLI::Option* add_isa_option(CLI::App& command, std::string& isa) {
  return command.add_option("--isa", isa,
                            "Kernel instruction set: ref, avx2, avx512, avx512_vnni "
                            "(default: $SPARQ_ISA, else the best this CPU supports)");
}

}  // namespace sparq::cli

int main(int argc, char** argv) {
  CLI::App app{"sparq: fast inference for sparse and INT8-quantized BERT encoders on x86 CPUs",
               "sparq"};
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return fmt::format("sparq: error: {} (see --help)\n", e.what());
  });
  sparq::cli::register_inspect(app);
  sparq::cli::register_tokenize(app);
  sparq::cli::register_run(app);
  sparq::cli::register_eval(app);
  sparq::cli::register_quantize(app);
  sparq::cli::register_bench(app);
  sparq::cli::register_synth(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; every usage error exits 2, every runtime error 1
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const sparq::Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "sparq: error: {}\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    fmt::print(stderr, "sparq: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "sparq: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
