#include "test_util.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "kernels/dispatch.h"

extern char** environ;

namespace sparq::test {

namespace fs = std::filesystem;

std::string shared_dir() {
  return SPARQ_SHARED_DIR;
}
std::string synthetic_dir() {
  return shared_dir() + "/models/synthetic";
}
std::string cli_path() {
  return SPARQ_CLI_PATH;
}

std::vector<std::string> synthetic_models() {
  std::vector<std::string> names;
  if (!fs::is_directory(synthetic_dir())) return names;
  for (const auto& entry : fs::directory_iterator(synthetic_dir()))
    if (entry.is_directory() && fs::exists(entry.path() / "golden.json"))
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string temp_dir(const std::string& name) {
  fs::path dir = fs::path(SPARQ_TEST_TMP) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env) {
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addclose(&actions, err_pipe[0]);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    std::string key = entry.substr(0, entry.find('='));
    if (!env.count(key)) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  pid_t pid;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  CommandResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  char buffer[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    result.signaled = true;
    result.signal = WTERMSIG(status);
  } else {
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

CommandResult run_cli(const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {cli_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, env);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

void copy_file(const std::string& from, const std::string& to) {
  write_file(to, read_file(from));
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_file(path));
}

std::vector<double> flatten(const nlohmann::json& nested) {
  std::vector<double> out;
  if (nested.is_array()) {
    for (const auto& x : nested) {
      auto inner = flatten(x);
      out.insert(out.end(), inner.begin(), inner.end());
    }
  } else if (nested.is_number()) {
    out.push_back(nested.get<double>());
  }
  return out;
}

RawSafetensors read_raw_safetensors(const std::string& path) {
  std::string bytes = read_file(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  RawSafetensors raw;
  raw.header = nlohmann::ordered_json::parse(bytes.substr(8, n));
  raw.data = bytes.substr(8 + n);
  return raw;
}

void write_raw_safetensors(const std::string& path, const nlohmann::ordered_json& header,
                           const std::string& data, int64_t header_length_override) {
  std::string text = header.dump();
  uint64_t n =
      header_length_override >= 0 ? static_cast<uint64_t>(header_length_override) : text.size();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  write_file(path, bytes + text + data);
}

std::string isa_label(kernels::Isa isa) {
  return std::string(kernels::isa_name(isa));
}

std::vector<float> random_floats(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<uint8_t> random_u8(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = static_cast<uint8_t>(rng() & 0xff);
  return v;
}

std::vector<int8_t> random_s8(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int8_t> v(n);
  for (auto& x : v) x = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  return v;
}

kernels::Requantize RequantizeCase::into(uint8_t* q, int64_t ldq) const {
  kernels::Requantize rq;
  rq.q = q;
  rq.ldq = ldq;
  rq.column_scale = column_scale.empty() ? nullptr : column_scale.data();
  rq.inv_scale = inv_scale;
  rq.zero_point = zero_point;
  return rq;
}

std::vector<uint8_t> RequantizeCase::quantize(const kernels::KernelTable& table,
                                              const std::vector<float>& c, int64_t rows,
                                              int64_t n) const {
  std::vector<uint8_t> q(c.size());
  for (int64_t r = 0; r < rows; ++r)
    table.u8_quantize(c.data() + r * n, n, column_scale.empty() ? nullptr : column_scale.data(),
                      inv_scale, zero_point, q.data() + r * n);
  return q;
}

RequantizeCase requantize_case(int64_t n, bool smoothed, uint32_t seed) {
  RequantizeCase rc;
  if (smoothed) {
    rc.column_scale = random_floats(static_cast<size_t>(n), seed, 0.5f);
    for (auto& v : rc.column_scale) v = std::fabs(v) + 0.25f;
  }
  // outputs of a few units span most of the u8 range, and some saturate
  rc.inv_scale = 1.0f / 0.03f;
  rc.zero_point = 117;
  return rc;
}

std::vector<kernels::Isa> all_isas() {
  return {kernels::Isa::ref, kernels::Isa::avx2, kernels::Isa::avx512, kernels::Isa::avx512_vnni};
}

EncoderInput random_encoder_input(const ModelConfig& config, std::mt19937& rng, int64_t max_batch,
                                  int64_t max_seq, bool pad) {
  EncoderInput in;
  in.batch = std::uniform_int_distribution<int64_t>(1, max_batch)(rng);
  in.seq = std::uniform_int_distribution<int64_t>(1, max_seq)(rng);
  std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(config.vocab_size - 1));
  for (int64_t i = 0; i < in.batch * in.seq; ++i) in.input_ids.push_back(id(rng));
  if (!pad) return in;
  in.attention_mask.assign(static_cast<size_t>(in.batch * in.seq), 1);
  for (int64_t b = 1; b < in.batch; b += 2)
    for (int64_t t = in.seq / 2 + 1; t < in.seq; ++t)
      in.attention_mask[static_cast<size_t>(b * in.seq + t)] = 0;
  return in;
}

}  // namespace sparq::test
