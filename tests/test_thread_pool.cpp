#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/thread_pool.h"

namespace sparq::core {
namespace {

TEST(ThreadPool, ParallelForCoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t count : {0, 1, 2, 3, 7, 64, 1001}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
      pool.parallel_for(count, [&](int64_t begin, int64_t end, int member) {
        EXPECT_GE(member, 0);
        EXPECT_LT(member, threads);
        for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)]++;
      });
      for (int64_t i = 0; i < count; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 1) << i;
    }
  }
}

TEST(ThreadPool, DynamicForCoversEveryIndexOnce) {
  ThreadPool pool(3);
  for (int64_t grain : {1, 3, 100}) {
    std::vector<std::atomic<int>> hits(500);
    pool.parallel_for_dynamic(500, grain, [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)]++;
    });
    for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  }
}

TEST(ThreadPool, RunsEveryMemberOnceAcrossManyJobs) {
  ThreadPool pool(4);
  std::atomic<int64_t> total{0};
  for (int job = 0; job < 20000; ++job) pool.run([&](int member) { total += member + 1; });
  EXPECT_EQ(total.load(), 20000 * (1 + 2 + 3 + 4));
}

TEST(ThreadPool, WakesAfterSleeping) {
  ThreadPool pool(2);
  std::atomic<int> calls{0};
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers go to sleep
    pool.run([&](int) { calls++; });
  }
  EXPECT_EQ(calls.load(), 6);
}

}  // namespace
}  // namespace sparq::core
