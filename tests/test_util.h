// Helpers shared by the tests: paths of the ground truth, running the CLI, golden files, and
// rewriting safetensors files into deliberately broken ones.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "sparq/runtime.h"

namespace sparq::test {

std::string shared_dir();
std::string synthetic_dir();                  // shared/models/synthetic
std::vector<std::string> synthetic_models();  // names of its model folders
std::string cli_path();

// A fresh, empty directory under the build tree for one test.
std::string temp_dir(const std::string& name);

struct CommandResult {
  int exit_code = -1;  // valid when !signaled
  bool signaled = false;
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs argv[0] with the given extra environment variables, capturing both streams.
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {});
CommandResult run_cli(const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env = {});

nlohmann::json read_json(const std::string& path);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& contents);
void copy_file(const std::string& from, const std::string& to);

// Flattens nested JSON number lists.
std::vector<double> flatten(const nlohmann::json& nested);

// The raw parts of a safetensors file, for building broken variants.
struct RawSafetensors {
  nlohmann::ordered_json header;  // in file order
  std::string data;
};
RawSafetensors read_raw_safetensors(const std::string& path);
// Writes header + data; header_length_override replaces the 8-byte length prefix when >= 0.
void write_raw_safetensors(const std::string& path, const nlohmann::ordered_json& header,
                           const std::string& data, int64_t header_length_override = -1);

// Seeded random data for kernel tests.
std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f);  // normal(0, scale)
std::vector<uint8_t> random_u8(size_t n, uint32_t seed);
std::vector<int8_t> random_s8(size_t n, uint32_t seed);  // in [-127, 127]

// A batch of 1..max_batch sequences of 1..max_seq random valid token ids; with `pad`, every
// other sequence's second half is padding.
EncoderInput random_encoder_input(const ModelConfig& config, std::mt19937& rng, int64_t max_batch,
                                  int64_t max_seq, bool pad = false);

// Static input parameters of a next INT8 layer with n inputs (SmoothQuant column scales when
// `smoothed`), for requantizing epilogues; quantize() is what the table's u8_quantize makes of
// an fp32 output c [rows, n] with them, which such an epilogue must write bit for bit.
struct RequantizeCase {
  std::vector<float> column_scale;
  float inv_scale = 1.0f;
  int32_t zero_point = 0;
  kernels::Requantize into(uint8_t* q, int64_t ldq) const;
  std::vector<uint8_t> quantize(const kernels::KernelTable& table, const std::vector<float>& c,
                                int64_t rows, int64_t n) const;
};
RequantizeCase requantize_case(int64_t n, bool smoothed, uint32_t seed);

// Whether this build runs under AddressSanitizer. The accuracy budgets on the trained models run
// the quantizer and pipelines that the synthetic models' tests cover under the sanitizers too,
// only over whole evaluation sets, so they skip there (ASan run on 2 cores, Intel Xeon: 576 s with
// them, 357 s without).
constexpr bool under_address_sanitizer() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#else
  return false;
#endif
}
#define SPARQ_SKIP_UNDER_ADDRESS_SANITIZER()                                            \
  do {                                                                                  \
    if (::sparq::test::under_address_sanitizer())                                       \
      GTEST_SKIP() << "accuracy budget on a whole data set: the release build runs it"; \
  } while (0)

std::string isa_label(kernels::Isa isa);
std::vector<kernels::Isa> all_isas();

}  // namespace sparq::test
