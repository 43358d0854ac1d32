#include "core/thread_pool.h"

#include <immintrin.h>

#include <chrono>

#include "core/cpu.h"

namespace sparq::core {
namespace {

// Long enough to bridge the gaps between the kernels of one forward pass, short enough that an
// idle pool leaves the cores alone almost at once.
constexpr auto kSpinTime = std::chrono::microseconds(200);

template <typename Ready>
bool spin_until(Ready ready, bool spin) {
  if (!spin) return ready();
  auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (int i = 0;; ++i) {
    if (ready()) return true;
    _mm_pause();
    if ((i & 255) == 255 && std::chrono::steady_clock::now() > deadline) return false;
  }
}

}  // namespace

// With more members than CPUs a spinning member only steals time from the one it waits for.
ThreadPool::ThreadPool(int threads, const ThreadPoolOptions& options)
    : size_(threads < 1 ? 1 : threads),
      spin_(options.spin.value_or(size_ <= available_cpu_count())) {
  workers_.reserve(size_ - 1);
  for (int member = 1; member < size_; ++member) {
    const int cpu = member < static_cast<int>(options.cpus.size()) ? options.cpus[member] : -1;
    workers_.emplace_back([this, member, cpu] { worker_loop(member, cpu); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run(FunctionRef<void(int)> job) {
  if (size_ == 1) {
    job(0);
    return;
  }
  job_ = &job;
  pending_.store(size_ - 1, std::memory_order_relaxed);
  {
    // Publishing under the mutex means a worker that is about to sleep cannot miss the job.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  if (sleepers_.load() > 0) wake_.notify_all();
  job(0);
  if (!spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; }, spin_)) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
  }
  job_ = nullptr;
}

void ThreadPool::worker_loop(int member, int cpu) {
  if (cpu >= 0) pin_current_thread(cpu);
  uint64_t seen = 0;
  for (;;) {
    if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; }, spin_)) {
      std::unique_lock<std::mutex> lock(mutex_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      sleepers_.fetch_sub(1);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stopping_.load()) return;
    (*job_)(member);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t count, FunctionRef<void(int64_t, int64_t, int)> body) {
  if (count <= 0) return;
  int team = count < size_ ? static_cast<int>(count) : size_;
  if (team == 1) {
    body(0, count, 0);
    return;
  }
  run([&](int member) {
    if (member >= team) return;
    int64_t begin = count * member / team;
    int64_t end = count * (member + 1) / team;
    body(begin, end, member);
  });
}

void ThreadPool::parallel_for_dynamic(int64_t count, int64_t grain,
                                      FunctionRef<void(int64_t, int64_t, int)> body) {
  if (count <= 0) return;
  if (grain < 1) grain = 1;
  if (size_ == 1 || count <= grain) {
    body(0, count, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  run([&](int member) {
    for (;;) {
      int64_t begin = next.fetch_add(grain, std::memory_order_relaxed);
      if (begin >= count) return;
      int64_t end = begin + grain < count ? begin + grain : count;
      body(begin, end, member);
    }
  });
}

}  // namespace sparq::core
