#include "runtime/benchmark.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "core/cpu.h"
#include "core/error.h"

namespace sparq::runtime {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Enough once at least `seconds` have passed and at least `iterations` (and one) inferences ran.
bool measured_enough(double seconds, int64_t iterations, Clock::time_point start, int64_t count) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return count > 0 && elapsed >= seconds && count >= iterations;
}

bool measured_enough(const BenchmarkOptions& o, Clock::time_point start, int64_t count) {
  return measured_enough(o.seconds, o.iterations, start, count);
}

// One model on one stream, warmed up, measured in one or more stretches of synchronous calls.
class SyncSession {
 public:
  SyncSession(std::shared_ptr<const Model> model, const EncoderInput& input,
              const BenchmarkOptions& o, BenchmarkResult& r)
      : stream_(std::move(model), stream_options(o)), input_(input) {
    r.streams = 1;
    r.threads_per_stream = stream_.threads();
    r.requests = 1;
    const auto t0 = Clock::now();
    stream_.run(input_);
    r.first_inference_ms = ms_between(t0, Clock::now());
    for (int i = 0; i < o.warmup; ++i) stream_.run(input_);
    if (o.profile) run_options_.profile = &profile_;
  }

  // Runs inferences until measured_enough(seconds, iterations) for this stretch; returns its
  // length in seconds.
  double measure(double seconds, int64_t iterations, std::vector<double>& latencies) {
    const auto start = Clock::now();
    for (int64_t count = 0; !measured_enough(seconds, iterations, start, count); ++count) {
      const auto t = Clock::now();
      stream_.run(input_, run_options_);
      latencies.push_back(ms_between(t, Clock::now()));
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

  // The per-inference profile over `count` measured inferences.
  void report_profile(BenchmarkResult& r, size_t count) const {
    for (const auto& [name, s] : profile_.seconds)
      r.profile_ms.emplace_back(name, s * 1e3 / static_cast<double>(count));
  }

 private:
  static StreamOptions stream_options(const BenchmarkOptions& o) {
    StreamOptions so;
    so.threads = o.runtime.threads > 0 ? o.runtime.threads : core::physical_core_count();
    if (o.runtime.pin_threads) {
      const std::vector<int> cores = core::physical_core_cpus();
      if (so.threads > static_cast<int>(cores.size()))
        fail("cannot pin {} threads: this process may use {} physical cores", so.threads,
             cores.size());
      so.cpus.assign(cores.begin(), cores.begin() + so.threads);
      core::pin_current_thread(so.cpus[0]);
    }
    return so;
  }

  Stream stream_;
  const EncoderInput& input_;
  OperationProfile profile_;
  RunOptions run_options_;
};

void run_sync(std::shared_ptr<const Model> model, const EncoderInput& input,
              const BenchmarkOptions& o, BenchmarkResult& r, std::vector<double>& latencies) {
  SyncSession session(std::move(model), input, o, r);
  r.duration_s = session.measure(o.seconds, o.iterations, latencies);
  session.report_profile(r, latencies.size());
}

void run_async(std::shared_ptr<const Model> model, const EncoderInput& input,
               const BenchmarkOptions& o, BenchmarkResult& r, std::vector<double>& latencies) {
  Runtime runtime(std::move(model), o.runtime);
  r.streams = runtime.streams();
  r.threads_per_stream = runtime.threads_per_stream();
  r.requests = o.requests > 0 ? o.requests : r.streams;
  auto t0 = Clock::now();
  runtime.infer(input);
  r.first_inference_ms = ms_between(t0, Clock::now());
  // every stream warms its own scratch memory
  for (int i = 0; i < o.warmup * r.streams; ++i)
    runtime.submit(input, {}, [](std::exception_ptr, EncoderOutput) {});
  runtime.wait_idle();

  std::mutex mutex;
  std::condition_variable finished;
  int64_t submitted = 0;
  int in_flight = 0;
  std::exception_ptr failure;
  Clock::time_point start, last_completion;
  // Each completion records its latency and, until enough are submitted, submits the next
  // request in its place, so `requests` stay in flight. Called with the mutex held.
  std::function<bool()> want_more = [&] {
    return !failure && !measured_enough(o, start, submitted);
  };
  std::function<void()> submit_one = [&] {
    const auto submitted_at = Clock::now();
    runtime.submit(input, {}, [&, submitted_at](std::exception_ptr error, EncoderOutput) {
      const auto done = Clock::now();
      bool again = false;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (error && !failure) failure = error;
        latencies.push_back(ms_between(submitted_at, done));
        last_completion = done;
        again = want_more();
        if (again)
          ++submitted;
        else if (--in_flight == 0)
          finished.notify_all();
      }
      if (again) submit_one();
    });
  };
  // with --iterations smaller than the requests, only that many go out
  const int first_requests = o.seconds > 0 || o.iterations <= 0
                                 ? r.requests
                                 : static_cast<int>(std::min<int64_t>(r.requests, o.iterations));
  {
    std::lock_guard<std::mutex> lock(mutex);
    start = Clock::now();
    in_flight = first_requests;
    submitted = first_requests;
  }
  // in_flight belongs to the callbacks from here on: they may finish every request and count
  // it down before this loop has submitted the last of the first ones
  for (int i = 0; i < first_requests; ++i) submit_one();
  std::unique_lock<std::mutex> lock(mutex);
  finished.wait(lock, [&] { return in_flight == 0; });
  if (failure) std::rethrow_exception(failure);
  r.duration_s = std::chrono::duration<double>(last_completion - start).count();
}

void check_options(const BenchmarkOptions& o) {
  if (o.api == Api::sync && o.runtime.streams != 1)
    fail("the sync API runs one stream; use the async API for {} streams", o.runtime.streams);
  if (o.api == Api::async && o.profile)
    fail("profiling needs the sync API (streams would mix their timings)");
  if (o.requests < 0) fail("{} requests in flight", o.requests);
}

void summarize(const std::vector<double>& latencies, int64_t batch, BenchmarkResult& r) {
  r.count = static_cast<int64_t>(latencies.size());
  r.latency_ms = latency_stats(latencies);
  r.sequences_per_s = static_cast<double>(r.count * batch) / r.duration_s;
}

}  // namespace

BenchmarkResult run_benchmark(std::shared_ptr<const Model> model, const EncoderInput& input,
                              const BenchmarkOptions& o) {
  check_options(o);
  validate_input(*model, input);
  BenchmarkResult r;
  std::vector<double> latencies;
  if (o.api == Api::sync)
    run_sync(std::move(model), input, o, r, latencies);
  else
    run_async(std::move(model), input, o, r, latencies);
  summarize(latencies, input.batch, r);
  return r;
}

int interleaved_rounds(const BenchmarkOptions& o, int rounds) {
  // a count alone asks for no more inferences than that: one a round at most
  if (o.seconds <= 0 && o.iterations > 0)
    return static_cast<int>(std::min<int64_t>(rounds, o.iterations));
  return rounds;
}

std::vector<BenchmarkResult> run_benchmark_interleaved(
    const std::vector<std::shared_ptr<const Model>>& models, const EncoderInput& input,
    const BenchmarkOptions& o, int rounds) {
  check_options(o);
  if (o.api != Api::sync) fail("interleaved measurement needs the sync API");
  if (rounds < 1) fail("{} rounds: need at least one", rounds);
  rounds = interleaved_rounds(o, rounds);
  for (const auto& model : models) validate_input(*model, input);
  const size_t n = models.size();
  std::vector<BenchmarkResult> out(n);
  std::vector<std::vector<double>> latencies(n);
  std::vector<std::unique_ptr<SyncSession>> sessions;
  for (size_t v = 0; v < n; ++v)
    sessions.push_back(std::make_unique<SyncSession>(models[v], input, o, out[v]));
  const double slice = o.seconds / rounds;
  const int64_t slice_iterations = (o.iterations + rounds - 1) / rounds;
  for (int round = 0; round < rounds; ++round)
    for (size_t i = 0; i < n; ++i) {
      const size_t v = round % 2 == 0 ? i : n - 1 - i;
      std::vector<double> stretch;
      out[v].duration_s += sessions[v]->measure(slice, slice_iterations, stretch);
      out[v].round_median_ms.push_back(latency_stats(stretch).median);
      latencies[v].insert(latencies[v].end(), stretch.begin(), stretch.end());
    }
  for (size_t v = 0; v < n; ++v) {
    sessions[v]->report_profile(out[v], latencies[v].size());
    summarize(latencies[v], input.batch, out[v]);
  }
  return out;
}

}  // namespace sparq::runtime
