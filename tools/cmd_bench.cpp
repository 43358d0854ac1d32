// sparq bench: latency and throughput of one model on random token ids, reported the way
// ONNX Runtime's and OpenVINO's benchmark tools report it.
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "commands.h"
#include "runtime/latency_stats.h"
#include "sparq/error.h"
#include "sparq/runtime.h"

namespace sparq::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string model;
  LoadOptions load;
  int64_t batch = 1;
  int64_t seq = 128;
  int threads = 1;
  double time = 10.0;
  int64_t iterations = 0;
  int warmup = 5;
  uint32_t seed = 1;
  bool json = false;
  bool profile = false;
};

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Multiply-adds of one forward pass, times two: the GEMMs and the two attention products.
double forward_flops(const ModelConfig& c, int64_t batch, int64_t seq) {
  const double T = static_cast<double>(batch * seq), H = static_cast<double>(c.hidden_size);
  const double I = static_cast<double>(c.intermediate_size), S = static_cast<double>(seq);
  const double per_layer = 2.0 * T * (4.0 * H * H + 2.0 * H * I) + 4.0 * T * S * H;
  return per_layer * static_cast<double>(c.num_hidden_layers);
}

}  // namespace

void register_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure latency and throughput on random token ids");
  cmd->add_option("--model", o->model, "Model directory")->required();
  cmd->add_option("--batch", o->batch, "Sequences per inference")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--seq", o->seq, "Tokens per sequence")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  add_threads_option(*cmd, o->threads);
  add_load_options(*cmd, o->load);
  CLI::Option* time_option =
      cmd->add_option("--time", o->time,
                      "Seconds to measure (with --iterations: whichever ends last)")
          ->check(CLI::Range(0.0, 86400.0))
          ->capture_default_str();
  cmd->add_option("--iterations", o->iterations, "Inferences to measure")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->add_option("--warmup", o->warmup, "Untimed inferences after the first")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the random token ids")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->add_flag("--profile", o->profile, "Also report the time per kind of operation");
  cmd->callback([o, time_option] {
    // --iterations alone means exactly that many runs
    if (o->iterations > 0 && time_option->count() == 0) o->time = 0.0;
    auto t0 = Clock::now();
    auto model = Model::load(o->model, o->load);
    Stream stream(model, StreamOptions{o->threads});
    const double load_ms = ms_since(t0);
    const ModelConfig& c = model->config();
    if (o->seq > c.max_position_embeddings)
      throw sparq::Error(fmt::format("--seq {} exceeds the model's max_position_embeddings {}",
                                     o->seq, c.max_position_embeddings));

    EncoderInput input;
    input.batch = o->batch;
    input.seq = o->seq;
    std::mt19937 rng(o->seed);
    std::uniform_int_distribution<int32_t> ids(c.vocab_size > 1 ? 1 : 0,
                                               static_cast<int32_t>(c.vocab_size - 1));
    for (int64_t i = 0; i < o->batch * o->seq; ++i) input.input_ids.push_back(ids(rng));

    t0 = Clock::now();
    stream.run(input);
    const double first_ms = ms_since(t0);
    for (int i = 0; i < o->warmup; ++i) stream.run(input);

    std::vector<double> latencies;
    OperationProfile profile;
    RunOptions run_options;
    if (o->profile) run_options.profile = &profile;
    const auto start = Clock::now();
    for (;;) {
      const bool time_done = std::chrono::duration<double>(Clock::now() - start).count() >= o->time;
      const bool count_done = static_cast<int64_t>(latencies.size()) >= o->iterations;
      if (time_done && count_done && !latencies.empty()) break;
      auto t = Clock::now();
      stream.run(input, run_options);
      latencies.push_back(ms_since(t));
    }
    const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
    const runtime::LatencyStats lat = runtime::latency_stats(latencies);
    const double throughput = static_cast<double>(latencies.size() * o->batch) / total_s;
    const double gflops = forward_flops(c, o->batch, o->seq) / (lat.median * 1e-3) / 1e9;

    if (o->json) {
      nlohmann::json j = {
          {"model", o->model},
          {"isa", model->info().isa},
          {"batch", o->batch},
          {"seq", o->seq},
          {"threads", stream.threads()},
          {"warmup", o->warmup},
          {"load_ms", load_ms},
          {"first_inference_ms", first_ms},
          {"count", latencies.size()},
          {"total_s", total_s},
          {"latency_ms",
           {{"median", lat.median},
            {"mean", lat.mean},
            {"min", lat.min},
            {"max", lat.max},
            {"p90", lat.p90},
            {"p99", lat.p99}}},
          {"throughput_seq_per_s", throughput},
          {"gflops_at_median", gflops},
      };
      if (o->profile) {
        nlohmann::json ops = nlohmann::json::object();
        for (const auto& [name, sec] : profile.seconds)
          ops[name] = sec * 1e3 / static_cast<double>(latencies.size());
        j["profile_ms_per_run"] = ops;
      }
      fmt::print("{}\n", j.dump(2));
      return;
    }
    fmt::print("model       {}\n", o->model);
    fmt::print("runtime     sparq, {} thread(s), kernels {}\n", stream.threads(),
               model->info().isa);
    fmt::print("shape       batch {} x seq {} (random ids in [1, {}), mask 1, token types 0)\n",
               o->batch, o->seq, c.vocab_size);
    fmt::print("load        {:.3f} ms\n", load_ms);
    fmt::print("first run   {:.3f} ms\n", first_ms);
    fmt::print("measured    {} runs in {:.2f} s after {} warm-up runs\n", latencies.size(), total_s,
               o->warmup);
    fmt::print(
        "latency ms  median {:.3f}  mean {:.3f}  min {:.3f}  max {:.3f}  p90 {:.3f}  p99 {:.3f}\n",
        lat.median, lat.mean, lat.min, lat.max, lat.p90, lat.p99);
    fmt::print("throughput  {:.2f} sequences/s\n", throughput);
    fmt::print("compute     {:.1f} GFLOP/s at the median\n", gflops);
    if (o->profile) {
      double total = 0;
      for (const auto& [name, sec] : profile.seconds) total += sec;
      fmt::print("\n{:<28} {:>12} {:>8}\n", "operation", "ms per run", "share");
      for (const auto& [name, sec] : profile.seconds)
        fmt::print("{:<28} {:>12.3f} {:>7.1f}%\n", name,
                   sec * 1e3 / static_cast<double>(latencies.size()), 100.0 * sec / total);
    }
  });
}

}  // namespace sparq::cli
