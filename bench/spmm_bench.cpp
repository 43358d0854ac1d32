// Sparse vs dense Linear speed on BERT shapes: for each token count, weight shape, sparsity and
// pattern, the table's dense GEMM and its sparse kernels (fp32 blocks of 1 and 4, int8 blocks
// of 4) on the same pruned weights, in the same run. "x dense" is dense median / sparse median;
// the cost model in sparse/sparse_choice.cpp is calibrated from these rows.
//
//   build/bench/spmm_bench [--isa NAME] [--threads T] [--seconds S] [--tokens 16,128,...]
//                          [--shapes NxK,...] [--sparsity 0.5,0.9,...] [--dtype fp32|int8|both]
//                          [--copies N] [--max-tokens T] [--chunk-rows R] [--pass-bytes B]
//                          [--f32-min-pass-weights W] [--u8s8-min-pass-weights W]
// (--copies cycles through N copies of the dense and the sparse weights, so that they stream
// from DRAM as they do in a whole model)
// (the last five override the table's sparse tiling, for tuning; --variants "k=v,k=v;k=v" measures
// more tilings beside it, interleaved: keys max_tokens, row_words, chunk_rows, pass_bytes, f32_min,
// u8s8_min)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
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

// Runs every function in turn, a few calls each, round after round until `budget` seconds have
// passed (and at least 5 rounds), and returns each one's median call time: the functions see the
// same moments of a noisy machine, so their ratios are more trustworthy than separate runs'.
std::vector<double> interleaved_medians(const std::vector<std::function<void()>>& runs,
                                        double budget) {
  constexpr int kCallsPerRound = 5;
  for (const auto& run : runs) run();
  std::vector<std::vector<double>> times(runs.size());
  const auto start = Clock::now();
  for (int round = 0;
       round < 5 || std::chrono::duration<double>(Clock::now() - start).count() < budget; ++round) {
    for (size_t i = 0; i < runs.size(); ++i)
      for (int c = 0; c < kCallsPerRound; ++c) {
        const auto t0 = Clock::now();
        runs[i]();
        times[i].push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      }
    if (times[0].size() > 100000) break;
  }
  std::vector<double> medians;
  for (auto& t : times) {
    std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
    medians.push_back(t[t.size() / 2]);
  }
  return medians;
}

// A sparse tiling to measure beside the table's: name=value pairs over the table's fields.
struct Variant {
  std::string name;
  kernels::KernelTable table;
};

bool apply_setting(kernels::KernelTable& table, const std::string& setting) {
  const auto eq = setting.find('=');
  if (eq == std::string::npos) return false;
  const std::string key = setting.substr(0, eq);
  const double value = std::atof(setting.c_str() + eq + 1);
  if (key == "max_tokens")
    table.spmm_max_tokens = static_cast<int>(value);
  else if (key == "row_words")
    table.spmm_row_words = static_cast<int>(value);
  else if (key == "chunk_rows")
    table.spmm_chunk_rows = static_cast<int>(value);
  else if (key == "pass_bytes")
    table.spmm_pass_bytes = static_cast<int>(value);
  else if (key == "f32_min")
    table.spmm_f32_min_pass_weights = static_cast<float>(value);
  else if (key == "u8s8_min")
    table.spmm_u8s8_min_pass_weights = static_cast<float>(value);
  else
    return false;
  return true;
}

template <typename T>
std::vector<T> parse_list(const std::string& text) {
  std::vector<T> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(static_cast<T>(std::atof(item.c_str())));
  return out;
}

// Each variant's packing of one weight (`copies` copies, cycled so they stream from memory) and
// scratch, for the calls add_sparse_runs appends.
struct SparseRuns {
  std::vector<std::vector<sparse::SparseWeights>> weights;
  std::vector<sparse::SpmmScratch> scratch;
  std::vector<size_t> next;
};

// Appends to `runs` one call per variant of run(table, weights, scratch), the weights packed by
// pack(table) for the variant's table.
template <typename Pack, typename Run>
void add_sparse_runs(const std::vector<Variant>& variants, int copies, Pack&& pack, Run run,
                     SparseRuns& s, std::vector<std::function<void()>>& runs) {
  s.weights.clear();
  s.weights.resize(variants.size());
  s.scratch.resize(variants.size());
  s.next.assign(variants.size(), 0);
  for (size_t v = 0; v < variants.size(); ++v) {
    for (int c = 0; c < copies; ++c) s.weights[v].push_back(pack(variants[v].table));
    runs.push_back([&s, &variants, run, v] {
      run(variants[v].table, s.weights[v][s.next[v]++ % s.weights[v].size()], s.scratch[v]);
    });
  }
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
  float f32_min_pass_weights = -1, u8s8_min_pass_weights = -1;
  std::string variants_text;
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
    } else if (arg == "--f32-min-pass-weights" && has_value) {
      f32_min_pass_weights = static_cast<float>(std::atof(argv[++i]));
    } else if (arg == "--u8s8-min-pass-weights" && has_value) {
      u8s8_min_pass_weights = static_cast<float>(std::atof(argv[++i]));
    } else if (arg == "--variants" && has_value) {
      variants_text = argv[++i];
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
                 "[--shapes NxK,...] [--sparsity S1,S2] [--dtype fp32|int8|both] [--copies N] "
                 "[--max-tokens T] [--chunk-rows R] [--pass-bytes B] [--f32-min-pass-weights W] "
                 "[--u8s8-min-pass-weights W] [--variants \"k=v,...;...\"]\n");
      return 2;
    }
  }
  kernels::KernelTable table = kernels::table_for_name(isa_name);
  if (max_tokens > 0) {
    table.spmm_max_tokens = max_tokens;
    table.spmm_row_words = max_tokens + table.spmm_token_vector;
  }
  if (chunk_rows > 0) table.spmm_chunk_rows = chunk_rows;
  if (pass_bytes > 0) table.spmm_pass_bytes = pass_bytes;
  if (f32_min_pass_weights >= 0) table.spmm_f32_min_pass_weights = f32_min_pass_weights;
  if (u8s8_min_pass_weights >= 0) table.spmm_u8s8_min_pass_weights = u8s8_min_pass_weights;
  std::vector<Variant> variants = {{"table", table}};
  {
    std::stringstream ss(variants_text);
    std::string spec;
    while (std::getline(ss, spec, ';')) {
      Variant v{spec, table};
      std::stringstream settings(spec);
      std::string setting;
      bool row_words_set = false;
      while (std::getline(settings, setting, ',')) {
        if (!apply_setting(v.table, setting)) {
          fmt::print(stderr, "bad variant setting '{}'\n", setting);
          return 2;
        }
        row_words_set |= setting.rfind("row_words=", 0) == 0;
      }
      if (!row_words_set)
        v.table.spmm_row_words = v.table.spmm_max_tokens + v.table.spmm_token_vector;
      variants.push_back(std::move(v));
    }
  }
  core::ThreadPool pool(threads);
  fmt::print(
      "{} threads {}, >= {:.1f} s per row, kernels interleaved; GOP/s counts dense 2*M*N*K\n",
      table.isa_name, threads, seconds);
  fmt::print("{:>6} {:>10} {:>5} {:>12} {:>6} {:>9} {:>9} {:>7} {:>9} {:>7} {}\n", "tokens",
             "N x K", "dtype", "pattern", "sparse", "dense ms", "sparse ms", "x dense", "GOP/s",
             "kernel", variants.size() > 1 ? "variant" : "");
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
      // medians[0] is the dense kernel's, then one per variant
      auto rows = [&](const char* type, const char* pattern, double s,
                      const std::vector<double>& medians, const char* kernel) {
        for (size_t v = 0; v < variants.size(); ++v)
          fmt::print(
              "{:>6} {:>10} {:>5} {:>12} {:>5.0f}% {:>9.3f} {:>9.3f} {:>7.2f} {:>9.1f} {:>7} {}\n",
              m, shape, type, pattern, 100 * s, medians[0] * 1e3, medians[v + 1] * 1e3,
              medians[0] / medians[v + 1], ops / medians[v + 1] / 1e9, kernel,
              variants.size() > 1 ? variants[v].name : "");
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
            for (int block : {1, 4}) {
              std::vector<std::function<void()>> runs = {[&] {
                kernels::gemm_f32(table, m, n, k, x.data(), k,
                                  packed[next_dense++ % packed.size()].data(), y.data(), n, ep,
                                  &pool);
              }};
              SparseRuns sparse_runs;
              add_sparse_runs(
                  variants, copies,
                  [&](const kernels::KernelTable& t) {
                    return sparse::pack_sparse_f32(t, w.data(), n, k, block);
                  },
                  [&](const kernels::KernelTable& t, const sparse::SparseWeights& sw,
                      sparse::SpmmScratch& scratch) {
                    sparse::spmm_f32(t, sw, x.data(), k, m, y.data(), n, ep, scratch, &pool);
                  },
                  sparse_runs, runs);
              rows("fp32", sparse::pattern_name(pattern), s, interleaved_medians(runs, seconds),
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
            std::vector<std::function<void()>> runs = {[&] {
              kernels::qgemm(table, m, n, k, q.data(), ldq,
                             packed[next_dense++ % packed.size()].data(), ep, y.data(), nullptr, n,
                             &pool);
            }};
            SparseRuns sparse_runs;
            add_sparse_runs(
                variants, copies,
                [&](const kernels::KernelTable& t) {
                  return sparse::pack_sparse_s8(t, qw.data(), n, k);
                },
                [&](const kernels::KernelTable& t, const sparse::SparseWeights& sw,
                    sparse::SpmmScratch& scratch) {
                  sparse::spmm_u8s8(t, sw, q.data(), ldq, m, ep, y.data(), nullptr, n, scratch,
                                    &pool);
                },
                sparse_runs, runs);
            rows("int8", sparse::pattern_name(pattern), s, interleaved_medians(runs, seconds),
                 "block4");
          }
        }
    }
  return 0;
}
