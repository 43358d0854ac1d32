// sparq bench: latency and throughput of a model, reported the way OpenVINO's benchmark_app and
// deepsparse.benchmark report them, for one configuration or several compared back to back.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "commands.h"
#include "core/cpu.h"
#include "io/json_io.h"
#include "io/mapped_file.h"
#include "quant/spec_io.h"
#include "runtime/benchmark.h"
#include "sparq/error.h"
#include "sparq/synth.h"

namespace sparq::cli {
namespace {

struct BenchOptions {
  std::string model, synth, input, shape, compare, int8_model;
  LoadOptions load;
  int64_t batch = 1;
  int64_t seq = 128;
  int threads = 0;
  int streams = 0;  // 0: from the scenario
  bool pin = false;
  std::string api, scenario = "sync";
  int requests = 0;
  double time = 10.0;
  int64_t iterations = 0;
  int rounds = 10;  // --compare with the sync API: turns each variant takes
  int warmup = 5;
  uint32_t seed = 1;
  bool json = false;
  bool profile = false;
};

// One configuration of a --compare list: precision and sparse kernels.
struct Variant {
  std::string name;
  LoadOptions load;
  std::string directory;
};

[[noreturn]] void bad_option(const std::string& message) {
  throw CLI::ValidationError(message);
}

// "input_ids[1,128]", "[1,128]" or "1x128" -> (batch, seq)
std::pair<int64_t, int64_t> parse_shape(const std::string& text) {
  static const std::regex form(R"(\s*(?:input_ids\s*)?\[\s*(\d{1,9})\s*,\s*(\d{1,9})\s*\]\s*)");
  static const std::regex plain(R"(\s*(\d{1,9})\s*x\s*(\d{1,9})\s*)");
  std::smatch m;
  if (!std::regex_match(text, m, form) && !std::regex_match(text, m, plain))
    bad_option(fmt::format(
        "--shape '{}' is not of the form input_ids[BATCH,SEQ] (or [BATCH,SEQ], BATCHxSEQ)", text));
  const int64_t batch = std::stoll(m[1]), seq = std::stoll(m[2]);
  if (batch < 1 || seq < 1) bad_option(fmt::format("--shape '{}' has a zero dimension", text));
  return {batch, seq};
}

// "bert-base", "bert-base:0.9" or "bert-base:0.9:block4"
SynthOptions parse_synth_spec(const std::string& spec) {
  SynthOptions s;
  std::vector<std::string> parts;
  size_t begin = 0;
  for (size_t colon; (colon = spec.find(':', begin)) != std::string::npos; begin = colon + 1)
    parts.push_back(spec.substr(begin, colon - begin));
  parts.push_back(spec.substr(begin));
  const std::string usage = "--synth takes ARCH[:SPARSITY[:PATTERN]], e.g. bert-base:0.9:block4";
  if (parts.size() > 3) bad_option(usage);
  if (!standard_bert_config(parts[0]))
    bad_option(fmt::format("--synth: unknown architecture '{}' (one of {})", parts[0],
                           fmt::join(standard_bert_architectures(), ", ")));
  s.arch = parts[0];
  if (parts.size() > 1) {
    size_t used = 0;
    try {
      s.sparsity = std::stod(parts[1], &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != parts[1].size() || !(s.sparsity >= 0 && s.sparsity < 1))
      bad_option(
          fmt::format("--synth: sparsity '{}' is not a number in [0, 1); {}", parts[1], usage));
  }
  if (parts.size() > 2) {
    auto pattern = parse_sparsity_pattern(parts[2]);
    if (!pattern)
      bad_option(fmt::format("--synth: pattern '{}' is not unstructured or block4", parts[2]));
    s.pattern = *pattern;
  }
  return s;
}

// "fp32-dense,int8-sparse": each name is precision (fp32, int8) and/or kernels (dense, sparse,
// force) joined by '-'; what a name leaves out comes from the other options.
std::vector<Variant> parse_variants(const std::string& list, const LoadOptions& base) {
  std::vector<Variant> variants;
  if (list.empty()) return {{"", base, ""}};
  std::stringstream items(list);
  for (std::string name; std::getline(items, name, ',');) {
    Variant v{name, base, ""};
    if (name.empty()) bad_option("--compare has an empty entry");
    std::stringstream tokens(name);
    for (std::string token; std::getline(tokens, token, '-');) {
      if (token == "fp32") {
        v.load.quantize.reset();
      } else if (token == "int8") {
        if (!v.load.quantize) v.load.quantize = QuantizationSpec{};
      } else if (token == "dense") {
        v.load.sparse.mode = SparseMode::off;
      } else if (token == "sparse") {
        if (v.load.sparse.mode == SparseMode::off) v.load.sparse = SparseOptions{};
      } else if (token == "force") {
        v.load.sparse.mode = SparseMode::force;
      } else {
        bad_option(fmt::format("--compare: '{}' in '{}' is not fp32, int8, dense, sparse or force",
                               token, name));
      }
    }
    variants.push_back(std::move(v));
  }
  if (variants.size() < 2) bad_option("--compare needs at least two variants, e.g. dense,sparse");
  return variants;
}

struct VariantResult {
  Variant variant;
  ModelConfig config;
  ModelInfo info;
  double load_ms = 0;
  runtime::BenchmarkResult bench;
};

// How much faster v ran than the baseline: the median of the rounds' ratios of median latencies
// when the variants were measured in turns (a round the host slowed counts alike for both),
// else the ratio of the medians; with the lowest and highest round's.
struct Speedup {
  double median = 1.0, lowest = 1.0, highest = 1.0;
};

Speedup speedup_over(const VariantResult& baseline, const VariantResult& v) {
  Speedup s;
  const std::vector<double>& base_rounds = baseline.bench.round_median_ms;
  const std::vector<double>& rounds = v.bench.round_median_ms;
  if (rounds.empty() || rounds.size() != base_rounds.size()) {
    s.median = s.lowest = s.highest = baseline.bench.latency_ms.median / v.bench.latency_ms.median;
    return s;
  }
  std::vector<double> ratios;
  for (size_t r = 0; r < rounds.size(); ++r) ratios.push_back(base_rounds[r] / rounds[r]);
  s.lowest = *std::min_element(ratios.begin(), ratios.end());
  s.highest = *std::max_element(ratios.begin(), ratios.end());
  s.median = runtime::latency_stats(ratios).median;
  return s;
}

std::string describe(const ModelInfo& info) {
  int sparse = 0, linears = 0;
  for (const LinearInfo& l : info.linears)
    if (l.in_encoder()) {
      ++linears;
      sparse += l.format == "sparse";
    }
  const bool int8 = info.quantization != "none";
  return fmt::format("{}, {} of {} encoder Linear layers sparse{}", int8 ? "INT8" : "fp32", sparse,
                     linears, info.attention == "int8" ? ", INT8 attention" : "");
}

nlohmann::json result_json(const BenchOptions& o, const EncoderInput& input,
                           const VariantResult& v) {
  const ModelInfo& info = v.info;
  const runtime::BenchmarkResult& r = v.bench;
  nlohmann::json j = {
      {"model", v.variant.directory},
      {"isa", info.isa},
      {"precision", info.quantization == "none" ? "fp32" : "int8"},
      {"quantization", info.quantization},
      {"attention", info.attention},
      {"sparse", info.sparse_mode},
      {"batch", input.batch},
      {"seq", input.seq},
      {"api", o.api},
      {"streams", r.streams},
      {"threads", r.streams * r.threads_per_stream},
      {"threads_per_stream", r.threads_per_stream},
      {"requests", r.requests},
      {"warmup", o.warmup},
      {"load_ms", v.load_ms},
      {"read_ms", info.read_seconds * 1e3},
      {"compile_ms", (info.load_seconds - info.read_seconds) * 1e3},
      {"first_inference_ms", r.first_inference_ms},
      {"count", r.count},
      {"total_s", r.duration_s},
      {"latency_ms",
       {{"median", r.latency_ms.median},
        {"mean", r.latency_ms.mean},
        {"min", r.latency_ms.min},
        {"max", r.latency_ms.max},
        {"p90", r.latency_ms.p90},
        {"p99", r.latency_ms.p99}}},
      {"throughput_seq_per_s", r.sequences_per_s},
      {"throughput_tokens_per_s", r.sequences_per_s * static_cast<double>(input.seq)},
  };
  if (!v.variant.name.empty()) j["variant"] = v.variant.name;
  if (!r.profile_ms.empty()) {
    nlohmann::json ops = nlohmann::json::object();
    for (const auto& [name, ms] : r.profile_ms) ops[name] = ms;
    j["profile_ms_per_run"] = ops;
  }
  return j;
}

void print_result(const BenchOptions& o, const EncoderInput& input, const VariantResult& v) {
  const ModelInfo& info = v.info;
  const ModelConfig& c = v.config;
  const runtime::BenchmarkResult& r = v.bench;
  if (!v.variant.name.empty()) fmt::print("== {} ==\n", v.variant.name);
  fmt::print("model        {} ({} layers, hidden {}; {})\n", v.variant.directory,
             c.num_hidden_layers, c.hidden_size, describe(info));
  fmt::print("kernels      {}, sparse {}\n", info.isa, info.sparse_mode);
  fmt::print("load         {:.1f} ms (read {:.1f} ms, compile {:.1f} ms)\n", v.load_ms,
             info.read_seconds * 1e3, (info.load_seconds - info.read_seconds) * 1e3);
  fmt::print("shape        input_ids[{},{}] ({})\n", input.batch, input.seq,
             o.input.empty() ? fmt::format("random ids in [1, {}), seed {}", c.vocab_size, o.seed)
                             : o.input);
  fmt::print("api          {}, {} stream(s) x {} thread(s), {} request(s) in flight\n", o.api,
             r.streams, r.threads_per_stream, r.requests);
  fmt::print("first run    {:.3f} ms\n", r.first_inference_ms);
  fmt::print("count        {} inferences in {:.2f} s after {} warm-up runs per stream\n", r.count,
             r.duration_s, o.warmup);
  const auto& l = r.latency_ms;
  fmt::print(
      "latency ms   median {:.3f}  mean {:.3f}  min {:.3f}  max {:.3f}  p90 {:.3f}  p99 {:.3f}\n",
      l.median, l.mean, l.min, l.max, l.p90, l.p99);
  fmt::print("throughput   {:.2f} sequences/s ({:.0f} tokens/s)\n", r.sequences_per_s,
             r.sequences_per_s * static_cast<double>(input.seq));
  if (!r.profile_ms.empty()) {
    double total = 0;
    for (const auto& [name, ms] : r.profile_ms) total += ms;
    fmt::print("\n{:<28} {:>12} {:>8}\n", "operation", "ms per run", "share");
    for (const auto& [name, ms] : r.profile_ms)
      fmt::print("{:<28} {:>12.3f} {:>7.1f}%\n", name, ms, 100.0 * ms / total);
  }
}

EncoderInput make_input(const BenchOptions& o, const ModelConfig& c) {
  if (!o.input.empty()) return io::parse_encoder_input(io::read_text_file(o.input), o.input);
  if (o.seq > c.max_position_embeddings)
    throw sparq::Error(
        fmt::format("sequence length {} exceeds the model's max_position_embeddings {}", o.seq,
                    c.max_position_embeddings));
  EncoderInput input;
  input.batch = o.batch;
  input.seq = o.seq;
  std::mt19937 rng(o.seed);
  std::uniform_int_distribution<int32_t> ids(c.vocab_size > 1 ? 1 : 0,
                                             static_cast<int32_t>(c.vocab_size - 1));
  for (int64_t i = 0; i < o.batch * o.seq; ++i) input.input_ids.push_back(ids(rng));
  return input;
}

// Applies the scenario's defaults to what the options leave open, then checks the combination.
runtime::BenchmarkOptions benchmark_options(BenchOptions& o) {
  runtime::BenchmarkOptions b;
  const int cores = core::physical_core_count();
  if (o.scenario == "multistream") {
    if (o.api.empty()) o.api = "async";
    if (o.streams == 0) o.streams = o.threads > 0 ? o.threads : cores;
  }
  if (o.scenario == "async" && o.api.empty()) o.api = "async";
  if (o.streams == 0) o.streams = 1;
  if (o.api.empty()) o.api = o.streams > 1 ? "async" : "sync";
  if (o.api == "sync" && o.streams > 1)
    bad_option(fmt::format("--api sync runs one stream, not {}; use --api async", o.streams));
  if (o.api == "sync" && o.requests > 1)
    bad_option("--requests needs --api async (sync has one request in flight)");
  if (o.profile && o.api != "sync") bad_option("--profile needs --api sync");
  if (o.threads > 0 && o.threads < o.streams)
    bad_option(
        fmt::format("--threads {} cannot serve {} streams (each needs one)", o.threads, o.streams));
  const int total = o.threads > 0 ? o.threads : std::max(cores, o.streams);
  if (o.pin && total > cores)
    bad_option(
        fmt::format("--pin: {} threads ({} streams) but this process may use {} physical "
                    "cores",
                    total, o.streams, cores));
  b.api = o.api == "sync" ? runtime::Api::sync : runtime::Api::async;
  b.runtime.streams = o.streams;
  b.runtime.threads = total;
  b.runtime.pin_threads = o.pin;
  b.requests = o.requests;
  b.seconds = o.time;
  b.iterations = o.iterations;
  b.warmup = o.warmup;
  b.profile = o.profile;
  return b;
}

}  // namespace

void register_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Measure latency and throughput (benchmark_app style), optionally comparing "
      "precisions and kernels");
  auto* model = cmd->add_option("--model", o->model, "Model directory");
  auto* synth = cmd->add_option("--synth", o->synth,
                                "Benchmark a synthesized model instead: ARCH[:SPARSITY[:PATTERN]], "
                                "e.g. bert-base:0.9:block4 (see sparq synth)");
  model->excludes(synth);
  auto* input =
      cmd->add_option("--input", o->input,
                      "Token ids to run (JSON like `run raw` reads) instead of random ids")
          ->check(CLI::ExistingFile);
  auto* shape = cmd->add_option("--shape", o->shape, "Input shape: input_ids[BATCH,SEQ]");
  auto* batch = cmd->add_option("--batch", o->batch, "Sequences per inference")
                    ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
                    ->capture_default_str();
  auto* seq = cmd->add_option("--seq", o->seq, "Tokens per sequence")
                  ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
                  ->capture_default_str();
  shape->excludes(batch)->excludes(seq)->excludes(input);
  input->excludes(batch)->excludes(seq);
  cmd->add_option("--threads", o->threads,
                  "Threads of all streams together (default: physical cores)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--streams", o->streams, "Inferences running at once, each on its own threads")
      ->check(CLI::Range(1, 4096));
  cmd->add_flag("--pin", o->pin, "Pin every thread to a core of its own");
  cmd->add_option("--scenario", o->scenario,
                  "sync (one stream, one request), async (requests queued on the streams) or "
                  "multistream (one stream per core, async)")
      ->check(CLI::IsMember({"sync", "async", "multistream"}))
      ->capture_default_str();
  cmd->add_option("--api", o->api, "sync or async (default: from the scenario)")
      ->check(CLI::IsMember({"sync", "async"}));
  cmd->add_option("--requests", o->requests, "Async requests in flight (default: one per stream)")
      ->check(CLI::Range(1, 1 << 20));
  add_load_options(*cmd, o->load);
  auto* int8_model =
      cmd->add_option("--int8-model", o->int8_model,
                      "With --compare: the INT8 variants run this directory (a `sparq quantize` "
                      "output of --model) instead of quantizing --model at load")
          ->check(CLI::ExistingDirectory);
  auto* compare =
      cmd->add_option("--compare", o->compare,
                      "Run variants back to back and print their ratios: a comma-separated list of "
                      "fp32|int8 and dense|sparse|force joined by '-', e.g. dense,sparse or "
                      "fp32-dense,int8-dense,int8-sparse");
  int8_model->needs(compare);
  cmd->add_option("--rounds", o->rounds,
                  "With --compare (sync API): measure the variants in this many turns, each "
                  "--time / ROUNDS long, the order reversed every other turn, so that a host "
                  "whose speed drifts slows all alike")
      ->check(CLI::Range(1, 10000))
      ->needs(compare)
      ->capture_default_str();
  CLI::Option* time_option =
      cmd->add_option("--time", o->time,
                      "Seconds to measure per variant (with --iterations: whichever ends last)")
          ->check(CLI::Range(0.0, 86400.0))
          ->capture_default_str();
  cmd->add_option("--iterations", o->iterations, "Inferences to measure")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cmd->add_option("--warmup", o->warmup, "Untimed inferences per stream after the first")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the random token ids")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON (one object; with --compare, every variant's)");
  cmd->add_flag("--profile", o->profile, "Also report the time per kind of operation");
  cmd->callback([o, time_option, model, synth, shape] {
    if (model->count() == 0 && synth->count() == 0) bad_option("--model or --synth is required");
    if (shape->count()) std::tie(o->batch, o->seq) = parse_shape(o->shape);
    // --iterations alone means exactly that many runs
    if (o->iterations > 0 && time_option->count() == 0) o->time = 0.0;
    const runtime::BenchmarkOptions bench = benchmark_options(*o);
    std::vector<Variant> variants = parse_variants(o->compare, o->load);

    std::filesystem::path synth_dir;
    struct RemoveOnExit {
      std::filesystem::path& dir;
      ~RemoveOnExit() {
        std::error_code ec;
        if (!dir.empty()) std::filesystem::remove_all(dir, ec);
      }
    } remove_synth{synth_dir};
    if (!o->synth.empty()) {
      SynthOptions s = parse_synth_spec(o->synth);
      s.isa = o->load.isa;
      synth_dir = std::filesystem::temp_directory_path() /
                  fmt::format("sparq-bench-{}-{}", getpid(), s.arch);
      if (!o->json)
        fmt::print(stderr, "synthesizing {} ({:.0f}% {} sparsity) in {}\n", s.arch,
                   100 * s.sparsity, sparsity_pattern_name(s.pattern), synth_dir.string());
      synthesize_model(s, synth_dir.string());
      o->model = synth_dir.string();
    }

    // INT8 variants run --int8-model when given, else quantize at load. A stored INT8 model
    // runs as stored: "int8" asks for nothing more and "fp32" is impossible.
    for (Variant& v : variants) {
      v.directory = v.load.quantize && !o->int8_model.empty() ? o->int8_model : o->model;
      if (!std::filesystem::exists(v.directory + "/" + quant::kQuantizationFile)) continue;
      if (!v.load.quantize && v.name.find("fp32") != std::string::npos)
        bad_option(fmt::format("--compare {}: {} is an INT8 model; it has no fp32 weights", v.name,
                               v.directory));
      if (!o->compare.empty()) v.load.quantize.reset();
    }

    std::vector<VariantResult> results;
    std::optional<EncoderInput> input;
    // with the sync API every variant is loaded first, then all are measured in turns
    const bool interleaved = variants.size() > 1 && bench.api == runtime::Api::sync;
    std::vector<std::shared_ptr<const Model>> loaded_models;
    for (const Variant& v : variants) {
      const auto t0 = std::chrono::steady_clock::now();
      auto loaded = Model::load(v.directory, v.load);
      VariantResult r{
          v,
          loaded->config(),
          loaded->info(),
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(),
          {}};
      if (!input) input = make_input(*o, loaded->config());
      if (interleaved) {
        loaded_models.push_back(std::move(loaded));
        results.push_back(std::move(r));
        continue;
      }
      std::fflush(stdout);
      if (!o->json && variants.size() > 1)
        fmt::print(stderr, "measuring {} ({:g} s)\n", v.name, o->time);
      r.bench = runtime::run_benchmark(loaded, *input, bench);
      results.push_back(std::move(r));
      if (!o->json) {
        print_result(*o, *input, results.back());
        fmt::print("\n");
      }
    }
    if (interleaved) {
      const int rounds = runtime::interleaved_rounds(bench, o->rounds);
      if (!o->json)
        fmt::print(stderr, "measuring {} variants in turns: {} rounds of {:g} s each\n",
                   variants.size(), rounds, o->time / rounds);
      std::vector<runtime::BenchmarkResult> measured =
          runtime::run_benchmark_interleaved(loaded_models, *input, bench, o->rounds);
      for (size_t v = 0; v < results.size(); ++v) {
        results[v].bench = std::move(measured[v]);
        if (!o->json) {
          print_result(*o, *input, results[v]);
          fmt::print("\n");
        }
      }
    }

    if (o->json) {
      if (results.size() == 1) {
        fmt::print("{}\n", result_json(*o, *input, results[0]).dump(2));
        return;
      }
      nlohmann::json all = nlohmann::json::array();
      for (const auto& r : results) {
        nlohmann::json j = result_json(*o, *input, r);
        const Speedup s = speedup_over(results[0], r);
        j["speedup"] = s.median;
        j["throughput_ratio"] = r.bench.sequences_per_s / results[0].bench.sequences_per_s;
        if (interleaved) {
          j["speedup_rounds"] = {{"lowest", s.lowest}, {"highest", s.highest}};
          j["round_median_ms"] = r.bench.round_median_ms;
        }
        all.push_back(std::move(j));
      }
      nlohmann::json summary = {{"baseline", results[0].variant.name}, {"results", all}};
      summary["rounds"] = interleaved ? results[0].bench.round_median_ms.size() : 1;
      fmt::print("{}\n", summary.dump(2));
      return;
    }
    if (results.size() > 1) {
      fmt::print("{:<22} {:>10} {:>10} {:>10} {:>12} {:>9} {:>13}\n", "variant", "median ms",
                 "p90 ms", "p99 ms", "sequences/s", "speed-up", "rounds");
      for (const auto& r : results) {
        const auto& l = r.bench.latency_ms;
        const Speedup s = speedup_over(results[0], r);
        fmt::print("{:<22} {:>10.3f} {:>10.3f} {:>10.3f} {:>12.2f} {:>8.2f}x {:>13}\n",
                   r.variant.name, l.median, l.p90, l.p99, r.bench.sequences_per_s, s.median,
                   interleaved ? fmt::format("{:.2f}-{:.2f}", s.lowest, s.highest) : "-");
      }
      if (interleaved)
        fmt::print(
            "speed-up: the median over {} rounds of {}'s median latency over each variant's "
            "(rounds: the lowest and highest round's), all measured in turns in this run\n",
            results[0].bench.round_median_ms.size(), results[0].variant.name);
      else
        fmt::print("speed-up: {}'s median latency over each variant's, measured in this run\n",
                   results[0].variant.name);
    }
  });
}

}  // namespace sparq::cli
