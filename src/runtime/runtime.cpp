#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/cpu.h"
#include "core/error.h"
#include "sparq/runtime.h"

namespace sparq {

struct Runtime::Impl {
  struct Request {
    EncoderInput input;
    RunOptions options;
    InferCallback done;
  };

  std::shared_ptr<const Model> model;
  int threads_per_stream = 1;
  std::vector<std::unique_ptr<Stream>> streams;
  std::vector<std::thread> dispatchers;  // one per stream; each is its stream's thread 0
  std::mutex mutex;
  std::condition_variable work;  // a request was queued, or stopping
  std::condition_variable idle;  // the queue drained and no stream is running
  std::deque<Request> queue;
  int running = 0;
  bool stopping = false;

  void dispatch(Stream& stream, int cpu) {
    if (cpu >= 0) core::pin_current_thread(cpu);
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      work.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping, and every request has run
      Request request = std::move(queue.front());
      queue.pop_front();
      ++running;
      lock.unlock();
      std::exception_ptr error;
      EncoderOutput output;
      try {
        output = stream.run(request.input, request.options);
      } catch (...) {
        error = std::current_exception();
      }
      // a throwing callback must not take the stream down with it
      try {
        request.done(error, std::move(output));
      } catch (...) {
      }
      lock.lock();
      --running;
      if (queue.empty() && running == 0) idle.notify_all();
    }
  }
};

Runtime::Runtime(std::shared_ptr<const Model> model, const RuntimeOptions& options)
    : impl_(std::make_unique<Impl>()) {
  if (!model) fail("Runtime needs a model");
  if (options.streams < 1) fail("{} streams; at least 1 is needed", options.streams);
  if (options.threads < 0) fail("thread count {} is negative", options.threads);
  const std::vector<int> cores = core::physical_core_cpus();
  const int core_count = static_cast<int>(cores.size());
  const int total = options.threads == 0 ? core_count : options.threads;
  if (total < options.streams)
    fail("{} threads cannot serve {} streams (each needs at least one)", total, options.streams);
  const int per_stream = total / options.streams;
  const int used = per_stream * options.streams;
  if (options.pin_threads && used > core_count)
    fail("cannot pin {} streams x {} threads: this process may use {} physical cores",
         options.streams, per_stream, core_count);
  impl_->model = std::move(model);
  impl_->threads_per_stream = per_stream;
  for (int s = 0; s < options.streams; ++s) {
    StreamOptions so;
    so.threads = per_stream;
    so.spin = used <= core::available_cpu_count();
    if (options.pin_threads)
      so.cpus.assign(cores.begin() + s * per_stream, cores.begin() + (s + 1) * per_stream);
    impl_->streams.push_back(std::make_unique<Stream>(impl_->model, so));
  }
  for (int s = 0; s < options.streams; ++s) {
    Stream& stream = *impl_->streams[static_cast<size_t>(s)];
    const int cpu = options.pin_threads ? cores[static_cast<size_t>(s * per_stream)] : -1;
    impl_->dispatchers.emplace_back([this, &stream, cpu] { impl_->dispatch(stream, cpu); });
  }
}

Runtime::~Runtime() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->work.notify_all();
  for (auto& t : impl_->dispatchers) t.join();
}

void Runtime::submit(EncoderInput input, RunOptions options, InferCallback done) {
  if (!done) fail("submit needs a completion callback");
  validate_input(*impl_->model, input);
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->queue.push_back({std::move(input), std::move(options), std::move(done)});
  }
  impl_->work.notify_one();
}

std::future<EncoderOutput> Runtime::submit(EncoderInput input, RunOptions options) {
  auto promise = std::make_shared<std::promise<EncoderOutput>>();
  std::future<EncoderOutput> result = promise->get_future();
  submit(std::move(input), std::move(options),
         [promise](std::exception_ptr error, EncoderOutput output) {
           if (error)
             promise->set_exception(error);
           else
             promise->set_value(std::move(output));
         });
  return result;
}

EncoderOutput Runtime::infer(EncoderInput input, const RunOptions& options) {
  return submit(std::move(input), options).get();
}

void Runtime::wait_idle() {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->idle.wait(lock, [&] { return impl_->queue.empty() && impl_->running == 0; });
}

int Runtime::streams() const {
  return static_cast<int>(impl_->streams.size());
}
int Runtime::threads_per_stream() const {
  return impl_->threads_per_stream;
}
const Model& Runtime::model() const {
  return *impl_->model;
}

}  // namespace sparq
