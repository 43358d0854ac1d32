// The measurement loop of `sparq bench`: one model, one input, synchronous calls on one stream
// or asynchronous requests kept in flight over several streams.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/latency_stats.h"
#include "sparq/runtime.h"

namespace sparq::runtime {

enum class Api { sync, async };

struct BenchmarkOptions {
  Api api = Api::sync;
  RuntimeOptions runtime;  // sync: one stream of runtime.threads threads
  int requests = 0;        // async: requests in flight; 0: one per stream
  double seconds = 10.0;   // measure at least this long ...
  int64_t iterations = 0;  // ... and at least this many inferences
  int warmup = 5;          // untimed inferences per stream after the first
  bool profile = false;    // time per kind of operation (sync only)
};

struct BenchmarkResult {
  int streams = 1;
  int threads_per_stream = 1;
  int requests = 1;
  double first_inference_ms = 0;
  int64_t count = 0;        // measured inferences
  double duration_s = 0;    // from the first measured submission to the last completion
  LatencyStats latency_ms;  // per inference, submission to completion
  double sequences_per_s = 0;
  std::vector<std::pair<std::string, double>> profile_ms;  // per inference
  // run_benchmark_interleaved: each round's median latency, ms (empty otherwise)
  std::vector<double> round_median_ms;
};

// Throws sparq::Error for inconsistent options (sync with several streams, profile with async).
BenchmarkResult run_benchmark(std::shared_ptr<const Model> model, const EncoderInput& input,
                              const BenchmarkOptions& options);

// Several models on one input, measured in turns so that a host whose speed drifts (a shared
// machine's neighbours come and go within seconds) slows all of them alike: each gets its own
// stream, warmed up, then `rounds` rounds run every model for options.seconds / rounds (and at
// least options.iterations / rounds inferences, at least one), the order reversed every other
// round (with iterations and no seconds, at most `iterations` rounds: interleaved_rounds). Only
// one stream runs at a time; an idle stream's threads sleep. Sync API only. One result per model,
// over all its rounds.
std::vector<BenchmarkResult> run_benchmark_interleaved(
    const std::vector<std::shared_ptr<const Model>>& models, const EncoderInput& input,
    const BenchmarkOptions& options, int rounds);

// The rounds run_benchmark_interleaved runs when asked for `rounds`.
int interleaved_rounds(const BenchmarkOptions& options, int rounds);

}  // namespace sparq::runtime
