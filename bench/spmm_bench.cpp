// Sparse vs dense Linear speed on BERT shapes: for each token count, weight shape, sparsity and
// pattern, the table's dense GEMM and its sparse kernels (fp32 blocks of 1 and 4, int8 blocks
// of 4) on the same pruned weights, in the same run. "x dense" is dense median / sparse median;
// the cost model in sparse/sparse_choice.cpp is calibrated from these rows.
//
//   build/bench/spmm_bench [--isa NAME] [--threads T] [--seconds S] [--tokens 16,128,...]
//                          [--shapes NxK,...] [--sparsity 0.5,0.9,...] [--dtype fp32|int8|both]
//                          [--copies N] [--max-tokens T] [--chunk-rows R] [--pass-bytes B]
// (--copies cycles through N copies of the dense and the sparse weights, so that they stream
// from DRAM as they do in a whole model)
// (the last three override the table's sparse tiling, for tuning)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/cpu.h"
#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/qgemm.h"
#include "sparse/pruning.h"
#include "sparse/spmm.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace sparq;

template <typename F>
double median_seconds(F&& run, double budget) {
  run();
  std::vector<double> times;
  const auto start = Clock::now();
  while (times.size() < 5 || std::chrono::duration<double>(Clock::now() - start).count() < budget) {
    const auto t0 = Clock::now();
    run();
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    if (times.size() > 100000) break;
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

template <typename T>
std::vector<T> parse_list(const std::string& text) {
  std::vector<T> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(static_cast<T>(std::atof(item.c_str())));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string isa_name;
  int threads = core::physical_core_count();
  double seconds = 0.5;
  std::vector<int64_t> token_counts = {16, 128, 384};
  std::vector<std::pair<int64_t, int64_t>> shapes = {
      {2304, 768}, {768, 768}, {3072, 768}, {768, 3072}};
  std::vector<double> sparsities = {0.0, 0.5, 0.7, 0.8, 0.9, 0.95};
  std::string dtype = "both";
  int max_tokens = 0, chunk_rows = 0, pass_bytes = 0, copies = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--isa" && has_value) {
      isa_name = argv[++i];
    } else if (arg == "--threads" && has_value) {
      threads = std::atoi(argv[++i]);
    } else if (arg == "--seconds" && has_value) {
      seconds = std::atof(argv[++i]);
    } else if (arg == "--tokens" && has_value) {
      token_counts = parse_list<int64_t>(argv[++i]);
    } else if (arg == "--sparsity" && has_value) {
      sparsities = parse_list<double>(argv[++i]);
    } else if (arg == "--copies" && has_value) {
      copies = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--max-tokens" && has_value) {
      max_tokens = std::atoi(argv[++i]);
    } else if (arg == "--chunk-rows" && has_value) {
      chunk_rows = std::atoi(argv[++i]);
    } else if (arg == "--pass-bytes" && has_value) {
      pass_bytes = std::atoi(argv[++i]);
    } else if (arg == "--dtype" && has_value) {
      dtype = argv[++i];
    } else if (arg == "--shapes" && has_value) {
      shapes.clear();
      std::stringstream ss(argv[++i]);
      std::string item;
      while (std::getline(ss, item, ',')) {
        long n = 0, k = 0;
        if (std::sscanf(item.c_str(), "%ldx%ld", &n, &k) != 2 || n <= 0 || k <= 0) {
          fmt::print(stderr, "bad shape '{}' (want NxK)\n", item);
          return 2;
        }
        shapes.emplace_back(n, k);
      }
    } else {
      fmt::print(stderr,
                 "usage: spmm_bench [--isa NAME] [--threads T] [--seconds S] [--tokens A,B] "
                 "[--shapes NxK,...] [--sparsity S1,S2] [--dtype fp32|int8|both]\n");
      return 2;
    }
  }
  kernels::KernelTable table = kernels::table_for_name(isa_name);
  if (max_tokens > 0) table.spmm_max_tokens = max_tokens;
  if (chunk_rows > 0) table.spmm_chunk_rows = chunk_rows;
  if (pass_bytes > 0) table.spmm_pass_bytes = pass_bytes;
  core::ThreadPool pool(threads);
  fmt::print("{} threads {}, median of >= {:.1f} s per kernel; GOP/s counts dense 2*M*N*K\n",
             table.isa_name, threads, seconds);
  fmt::print("{:>6} {:>10} {:>5} {:>12} {:>6} {:>9} {:>9} {:>7} {:>9} {:>7}\n", "tokens", "N x K",
             "dtype", "pattern", "sparse", "dense ms", "sparse ms", "x dense", "GOP/s", "kernel");
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (int64_t m : token_counts)
    for (auto [n, k] : shapes) {
      std::vector<float> x(static_cast<size_t>(m * k)), bias(static_cast<size_t>(n)),
          y(static_cast<size_t>(m * n));
      for (auto& v : x) v = dist(rng);
      for (auto& v : bias) v = dist(rng);
      const double ops = 2.0 * static_cast<double>(m * n * k);
      const std::string shape = fmt::format("{}x{}", n, k);
      auto row = [&](const char* type, const char* pattern, double s, double dense, double sparse,
                     const char* kernel) {
        fmt::print("{:>6} {:>10} {:>5} {:>12} {:>5.0f}% {:>9.3f} {:>9.3f} {:>7.2f} {:>9.1f} {}\n",
                   m, shape, type, pattern, 100 * s, dense * 1e3, sparse * 1e3, dense / sparse,
                   ops / sparse / 1e9, kernel);
      };
      for (sparse::Pattern pattern : {sparse::Pattern::unstructured, sparse::Pattern::block4})
        for (double s : sparsities) {
          std::vector<float> w(static_cast<size_t>(n * k));
          for (auto& v : w) v = dist(rng);
          sparse::prune_random(w.data(), n, k, s, pattern, 7);
          if (dtype != "int8") {
            std::vector<core::AlignedBuffer<float>> packed(static_cast<size_t>(copies));
            for (auto& p : packed) {
              p.reserve_at_least(kernels::packed_b_floats(n, k, table.gemm_nr));
              kernels::pack_b_transposed(w.data(), k, n, k, table.gemm_nr, p.data());
            }
            kernels::GemmEpilogue ep;
            ep.bias = bias.data();
            size_t next_dense = 0;
            const double dense = median_seconds(
                [&] {
                  kernels::gemm_f32(table, m, n, k, x.data(), k,
                                    packed[next_dense++ % packed.size()].data(), y.data(), n, ep,
                                    &pool);
                },
                seconds);
            for (int block : {1, 4}) {
              std::vector<sparse::SparseWeights> sw;
              for (int c = 0; c < copies; ++c)
                sw.push_back(sparse::pack_sparse_f32(table, w.data(), n, k, block));
              sparse::SpmmScratch scratch;
              size_t next = 0;
              const double t = median_seconds(
                  [&] {
                    sparse::spmm_f32(table, sw[next++ % sw.size()], x.data(), k, m, y.data(), n, ep,
                                     scratch, &pool);
                  },
                  seconds);
              row("fp32", sparse::pattern_name(pattern), s, dense, t,
                  block == 1 ? "block1" : "block4");
            }
          }
          if (dtype != "fp32") {
            std::vector<int8_t> qw(w.size());
            for (size_t i = 0; i < w.size(); ++i)
              qw[i] = static_cast<int8_t>(std::clamp(std::lround(w[i] * 40.0f), -127L, 127L));
            const int64_t ldq = (k + 3) / 4 * 4;
            std::vector<uint8_t> q(static_cast<size_t>(m * ldq), 77);
            std::vector<std::vector<int8_t>> packed(static_cast<size_t>(copies));
            std::vector<int32_t> sums(static_cast<size_t>(n));
            for (auto& p : packed) {
              p.resize(kernels::packed_qb_bytes(n, k, table.qgemm_nr, table.qgemm_kgroup));
              kernels::pack_qb_transposed(qw.data(), k, n, k, table.qgemm_nr, table.qgemm_kgroup,
                                          p.data(), sums.data());
            }
            std::vector<float> a_scale(1, 0.01f), b_scale(static_cast<size_t>(n), 0.02f);
            std::vector<int32_t> a_zp(1, 128);
            kernels::QGemmEpilogue ep;
            ep.column_sums = sums.data();
            ep.b_scale = b_scale.data();
            ep.a_scale = a_scale.data();
            ep.a_zero_point = a_zp.data();
            ep.bias = bias.data();
            size_t next_dense = 0;
            const double dense = median_seconds(
                [&] {
                  kernels::qgemm(table, m, n, k, q.data(), ldq,
                                 packed[next_dense++ % packed.size()].data(), ep, y.data(), nullptr,
                                 n, &pool);
                },
                seconds);
            std::vector<sparse::SparseWeights> sw;
            for (int c = 0; c < copies; ++c)
              sw.push_back(sparse::pack_sparse_s8(table, qw.data(), n, k));
            sparse::SpmmScratch scratch;
            size_t next = 0;
            const double t = median_seconds(
                [&] {
                  sparse::spmm_u8s8(table, sw[next++ % sw.size()], q.data(), ldq, m, ep, y.data(),
                                    nullptr, n, scratch, &pool);
                },
                seconds);
            row("int8", sparse::pattern_name(pattern), s, dense, t, "block4");
          }
        }
    }
  return 0;
}
