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

bool measured_enough(const BenchmarkOptions& o, Clock::time_point start, int64_t count) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return count > 0 && elapsed >= o.seconds && count >= o.iterations;
}

void run_sync(std::shared_ptr<const Model> model, const EncoderInput& input,
              const BenchmarkOptions& o, BenchmarkResult& r, std::vector<double>& latencies) {
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
  Stream stream(std::move(model), so);
  r.streams = 1;
  r.threads_per_stream = stream.threads();
  r.requests = 1;
  auto t0 = Clock::now();
  stream.run(input);
  r.first_inference_ms = ms_between(t0, Clock::now());
  for (int i = 0; i < o.warmup; ++i) stream.run(input);

  OperationProfile profile;
  RunOptions run_options;
  if (o.profile) run_options.profile = &profile;
  const auto start = Clock::now();
  while (!measured_enough(o, start, static_cast<int64_t>(latencies.size()))) {
    const auto t = Clock::now();
    stream.run(input, run_options);
    latencies.push_back(ms_between(t, Clock::now()));
  }
  r.duration_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (const auto& [name, s] : profile.seconds)
    r.profile_ms.emplace_back(name, s * 1e3 / static_cast<double>(latencies.size()));
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

}  // namespace

BenchmarkResult run_benchmark(std::shared_ptr<const Model> model, const EncoderInput& input,
                              const BenchmarkOptions& o) {
  if (o.api == Api::sync && o.runtime.streams != 1)
    fail("the sync API runs one stream; use the async API for {} streams", o.runtime.streams);
  if (o.api == Api::async && o.profile)
    fail("profiling needs the sync API (streams would mix their timings)");
  if (o.requests < 0) fail("{} requests in flight", o.requests);
  validate_input(*model, input);
  BenchmarkResult r;
  std::vector<double> latencies;
  if (o.api == Api::sync)
    run_sync(std::move(model), input, o, r, latencies);
  else
    run_async(std::move(model), input, o, r, latencies);
  r.count = static_cast<int64_t>(latencies.size());
  r.latency_ms = latency_stats(latencies);
  r.sequences_per_s = static_cast<double>(r.count * input.batch) / r.duration_s;
  return r;
}

}  // namespace sparq::runtime
