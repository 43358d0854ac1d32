// The runtime: asynchronous requests give the outputs synchronous calls give, streams run
// concurrently on one model, thread counts stay within the cores, and misuse is a clear error.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>

#include "core/cpu.h"
#include "sparq/error.h"
#include "sparq/runtime.h"
#include "test_util.h"

namespace sparq {
namespace {

int thread_count() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task"))
    ++n;
  return n;
}

std::shared_ptr<const Model> tiny() {
  return Model::load(test::synthetic_dir() + "/tiny");
}

TEST(Runtime, AsyncRequestsEqualSyncCalls) {
  auto model = tiny();
  std::mt19937 rng(7);
  std::vector<EncoderInput> inputs;
  for (int i = 0; i < 40; ++i)
    inputs.push_back(test::random_encoder_input(model->config(), rng, 4, 64, true));
  Stream reference(model, 1);
  std::vector<EncoderOutput> want;
  for (const auto& in : inputs) want.push_back(reference.run(in));

  RuntimeOptions options;
  options.streams = 2;
  options.threads = 2;
  Runtime runtime(model, options);
  EXPECT_EQ(runtime.streams(), 2);
  EXPECT_EQ(runtime.threads_per_stream(), 1);
  std::vector<std::future<EncoderOutput>> futures;
  for (const auto& in : inputs) futures.push_back(runtime.submit(in));
  std::vector<EncoderOutput> by_callback(inputs.size());
  std::atomic<int> callbacks{0};
  for (size_t i = 0; i < inputs.size(); ++i)
    runtime.submit(inputs[i], {}, [&, i](std::exception_ptr error, EncoderOutput out) {
      EXPECT_FALSE(error);
      by_callback[i] = std::move(out);
      ++callbacks;
    });
  for (size_t i = 0; i < inputs.size(); ++i) {
    EncoderOutput got = futures[i].get();
    EXPECT_EQ(got.logits.shape, want[i].logits.shape);
    EXPECT_EQ(got.logits.data, want[i].logits.data) << "request " << i;
  }
  runtime.wait_idle();
  EXPECT_EQ(callbacks.load(), static_cast<int>(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_EQ(by_callback[i].logits.data, want[i].logits.data) << "request " << i;
  EXPECT_EQ(runtime.infer(inputs[0]).logits.data, want[0].logits.data);
}

TEST(Runtime, InvalidRequestFailsAtSubmitAndOthersRun) {
  auto model = tiny();
  Runtime runtime(model, RuntimeOptions{2, 2, false});
  EncoderInput bad;
  bad.batch = 1;
  bad.seq = 2;
  bad.input_ids = {1, static_cast<int32_t>(model->config().vocab_size)};
  EXPECT_THROW(runtime.submit(bad), Error);
  // a callback that throws does not stop its stream
  EncoderInput good = bad;
  good.input_ids[1] = 2;
  runtime.submit(good, {},
                 [](std::exception_ptr, EncoderOutput) { throw std::runtime_error("x"); });
  EXPECT_EQ(runtime.infer(good).logits.shape, (std::vector<int64_t>{1, 2}));
}

TEST(Runtime, DestructorFinishesQueuedRequests) {
  auto model = tiny();
  std::mt19937 rng(3);
  std::atomic<int> done{0};
  {
    Runtime runtime(model, RuntimeOptions{2, 2, false});
    for (int i = 0; i < 50; ++i)
      runtime.submit(test::random_encoder_input(model->config(), rng, 2, 32, true), {},
                     [&](std::exception_ptr error, EncoderOutput) { done += !error; });
  }
  EXPECT_EQ(done.load(), 50);
}

TEST(Runtime, ThreadsStayWithinTheCores) {
  auto model = tiny();
  const int cores = core::physical_core_count();
  const int before = thread_count();
  {
    Runtime runtime(model);  // default: every core, one stream
    EXPECT_EQ(runtime.streams() * runtime.threads_per_stream(), cores);
    EXPECT_EQ(thread_count() - before, cores);  // the stream's dispatcher is its thread 0
  }
  EXPECT_EQ(thread_count(), before);
  {
    RuntimeOptions options;
    options.streams = cores;  // as many streams as cores: one thread each
    Runtime runtime(model, options);
    EXPECT_EQ(runtime.threads_per_stream(), 1);
    EXPECT_EQ(thread_count() - before, cores);
  }
  {
    RuntimeOptions options;
    options.streams = 2 * cores;  // more streams than cores cannot get a thread each
    EXPECT_THROW(Runtime(model, options), Error);
    options.threads = 2 * cores;  // unless asked for explicitly
    Runtime runtime(model, options);
    EXPECT_EQ(thread_count() - before, 2 * cores);
  }
}

TEST(Runtime, PinningNeedsACorePerThread) {
  auto model = tiny();
  const int cores = core::physical_core_count();
  RuntimeOptions options;
  options.pin_threads = true;
  options.streams = cores;
  {
    std::mt19937 rng(1);
    Runtime runtime(model, options);
    EXPECT_EQ(runtime.infer(test::random_encoder_input(model->config(), rng, 1, 8, true))
                  .logits.shape.size(),
              2u);
  }
  options.streams = cores + 1;
  options.threads = cores + 1;
  try {
    Runtime runtime(model, options);
    FAIL() << "pinned more threads than cores";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot pin"), std::string::npos) << e.what();
  }
}

TEST(Runtime, BadOptions) {
  auto model = tiny();
  EXPECT_THROW(Runtime(model, RuntimeOptions{0, 0, false}), Error);
  EXPECT_THROW(Runtime(model, RuntimeOptions{1, -1, false}), Error);
  EXPECT_THROW(Runtime(nullptr), Error);
}

}  // namespace
}  // namespace sparq
