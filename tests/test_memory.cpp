// Memory of the runtime (not run under the sanitizers, whose allocators change the numbers):
// streams share one copy of the weights, and resident memory stays flat over many requests of
// random shapes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "sparq/runtime.h"
#include "sparq/synth.h"
#include "test_util.h"

namespace sparq {
namespace {

double resident_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

std::string synth(const std::string& arch) {
  const std::string dir = test::temp_dir("memory-" + arch);
  SynthOptions o;
  o.arch = arch;
  synthesize_model(o, dir);
  return dir;
}

TEST(Memory, FourStreamsShareOneCopyOfBertBase) {
  auto model = Model::load(synth("bert-base"));
  std::mt19937 rng(1);
  EncoderInput input = test::random_encoder_input(model->config(), rng, 1, 1, false);
  input.seq = 128;
  input.input_ids.assign(128, 1000);
  double one = 0;
  {
    Runtime runtime(model, RuntimeOptions{1, 1, false});
    runtime.infer(input);
    one = resident_mib();
  }
  Runtime runtime(model, RuntimeOptions{4, 4, false});
  std::vector<std::future<EncoderOutput>> pending;
  for (int i = 0; i < 8; ++i) pending.push_back(runtime.submit(input));
  for (auto& f : pending) f.get();
  const double four = resident_mib();
  RecordProperty("rss_mib_1_stream", std::to_string(one));
  RecordProperty("rss_mib_4_streams", std::to_string(four));
  EXPECT_LT(four, 1.3 * one) << "1 stream " << one << " MiB, 4 streams " << four << " MiB";
}

TEST(Memory, ResidentSetIsStableOverTenThousandRandomRequests) {
  auto model = Model::load(synth("bert-tiny"));
  Runtime runtime(model, RuntimeOptions{2, 2, false});
  std::mt19937 rng(5);
  auto run = [&](int requests) {
    std::vector<std::future<EncoderOutput>> pending;
    for (int i = 0; i < requests; ++i) {
      pending.push_back(
          runtime.submit(test::random_encoder_input(model->config(), rng, 4, 128, false)));
      if (pending.size() == 8) {
        for (auto& f : pending) f.get();
        pending.clear();
      }
    }
    for (auto& f : pending) f.get();
  };
  run(1000);  // every stream has seen large shapes by now
  const double after_warmup = resident_mib();
  run(9000);
  const double after = resident_mib();
  RecordProperty("rss_mib_after_1000", std::to_string(after_warmup));
  RecordProperty("rss_mib_after_10000", std::to_string(after));
  EXPECT_LT(after - after_warmup, 8.0) << after_warmup << " MiB -> " << after << " MiB";
}

}  // namespace
}  // namespace sparq
