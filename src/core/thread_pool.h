// A fixed team of threads for data-parallel kernels. The calling thread is member 0 and works
// too; workers spin briefly between jobs (a forward pass issues hundreds of short parallel
// regions) and then sleep, so an idle pool costs no CPU.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/function_ref.h"

namespace sparq::core {

struct ThreadPoolOptions {
  // Member i > 0 runs on logical CPU cpus[i] only (empty: anywhere). Member 0 is the caller,
  // which pins itself if it wants to.
  std::vector<int> cpus;
  // Whether members spin between jobs before sleeping. Spinning pays while every spinning thread
  // of the process has a CPU of its own; the default assumes this pool is alone.
  std::optional<bool> spin;
};

class ThreadPool {
 public:
  // `threads` counts the caller; 1 means everything runs on the calling thread.
  explicit ThreadPool(int threads, const ThreadPoolOptions& options = {});
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Calls job(member) once on every member of the team and returns when all have finished.
  // Not reentrant: a job must not call run() on the same pool.
  void run(FunctionRef<void(int member)> job);

  // Splits [0, count) into one contiguous range per member (some may be empty).
  void parallel_for(int64_t count, FunctionRef<void(int64_t begin, int64_t end, int member)> body);

  // Hands out [0, count) in chunks of `grain` from a shared counter, for uneven work.
  void parallel_for_dynamic(int64_t count, int64_t grain,
                            FunctionRef<void(int64_t begin, int64_t end, int member)> body);

 private:
  void worker_loop(int member, int cpu);

  int size_;
  bool spin_;
  std::vector<std::thread> workers_;
  FunctionRef<void(int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int> sleepers_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
};

}  // namespace sparq::core
