// fp32 and INT8 GEMM speed on BERT shapes (GFLOP/s counts a multiply-add as 2 for both): sparq's
// microkernel on every supported ISA, and oneDNN's matmul with pre-packed weights when it is
// installed (libdnnl-dev), in the same run.
//
//   build/bench/gemm_bench [--threads T] [--seconds S] [--shapes MxNxK,...] [--kc K] [--mc M]
// (--kc and --mc override the tables' K and row blocks, for tuning)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/cpu.h"
#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/qgemm.h"

#ifdef SPARQ_HAVE_DNNL
#include <dnnl.hpp>
#endif

namespace {

using Clock = std::chrono::steady_clock;

struct Shape {
  int64_t m, n, k;
};

template <typename F>
double median_seconds(F&& run, double budget) {
  run();  // warm-up
  std::vector<double> times;
  auto start = Clock::now();
  while (times.size() < 5 || std::chrono::duration<double>(Clock::now() - start).count() < budget) {
    auto t0 = Clock::now();
    run();
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    if (times.size() > 100000) break;
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int threads = sparq::core::physical_core_count();
  double seconds = 1.0;
  int64_t kc_override = 0, mc_override = 0;
  std::vector<Shape> shapes = {{128, 768, 768},  {128, 2304, 768}, {128, 3072, 768},
                               {128, 768, 3072}, {16, 768, 768},   {384, 3072, 768}};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (arg == "--seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (arg == "--kc" && i + 1 < argc)
      kc_override = std::atol(argv[++i]);
    else if (arg == "--mc" && i + 1 < argc)
      mc_override = std::atol(argv[++i]);
    else if (arg == "--shapes" && i + 1 < argc) {
      shapes.clear();
      std::string list = argv[++i];
      size_t pos = 0;
      while (pos < list.size()) {
        size_t end = list.find(',', pos);
        if (end == std::string::npos) end = list.size();
        Shape s{};
        if (std::sscanf(list.substr(pos, end - pos).c_str(), "%ldx%ldx%ld", &s.m, &s.n, &s.k) !=
            3) {
          fmt::print(stderr, "bad shape '{}' (want MxNxK)\n", list.substr(pos, end - pos));
          return 2;
        }
        shapes.push_back(s);
        pos = end + 1;
      }
    } else {
      fmt::print(
          stderr,
          "usage: gemm_bench [--threads T] [--seconds S] [--shapes MxNxK,...] [--kc K] [--mc M]\n");
      return 2;
    }
  }
  sparq::core::ThreadPool pool(threads);
  fmt::print("threads {}, median of >= {:.1f} s per row; GFLOP/s = 2MNK / median\n", threads,
             seconds);
  fmt::print("{:>16} {:>24} {:>10} {:>9}\n", "M x N x K", "kernel", "median ms", "GFLOP/s");
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (const Shape& s : shapes) {
    std::vector<float> a(s.m * s.k), w(s.n * s.k), bias(s.n), c(s.m * s.n);
    for (auto& x : a) x = dist(rng);
    for (auto& x : w) x = dist(rng);
    for (auto& x : bias) x = dist(rng);
    double flops = 2.0 * s.m * s.n * s.k;
    std::string label = fmt::format("{}x{}x{}", s.m, s.n, s.k);
    for (auto isa : sparq::kernels::supported_isas()) {
      if (isa == sparq::kernels::Isa::ref) continue;
      sparq::kernels::KernelTable table = sparq::kernels::table_for(isa);
      if (kc_override > 0) table.gemm_kc = static_cast<int>(kc_override);
      if (mc_override > 0) table.gemm_mc = static_cast<int>(mc_override);
      sparq::core::AlignedBuffer<float> packed(
          sparq::kernels::packed_b_floats(s.n, s.k, table.gemm_nr));
      sparq::kernels::pack_b_transposed(w.data(), s.k, s.n, s.k, table.gemm_nr, packed.data());
      sparq::kernels::GemmEpilogue ep;
      ep.bias = bias.data();
      double t = median_seconds(
          [&] {
            sparq::kernels::gemm_f32(table, s.m, s.n, s.k, a.data(), s.k, packed.data(), c.data(),
                                     s.n, ep, &pool);
          },
          seconds);
      fmt::print("{:>16} {:>24} {:>10.3f} {:>9.1f}\n", label, table.f32_gemm_name, t * 1e3,
                 flops / t / 1e9);
    }
    // INT8: u8 activations (already quantized) x packed s8 weights, dequantized to fp32
    {
      std::vector<uint8_t> qa(static_cast<size_t>(s.m * (s.k + 4)), 77);
      std::vector<int8_t> qw(static_cast<size_t>(s.n * s.k));
      for (size_t i = 0; i < qw.size(); ++i)
        qw[i] = static_cast<int8_t>(static_cast<int>(i * 7919 % 255) - 127);
      std::vector<float> a_scale(1, 0.01f), b_scale(static_cast<size_t>(s.n), 0.02f);
      std::vector<int32_t> a_zp(1, 128);
      for (auto isa : sparq::kernels::supported_isas()) {
        if (isa == sparq::kernels::Isa::ref) continue;
        const auto& table = sparq::kernels::table_for(isa);
        const int64_t kp = sparq::kernels::padded_k(s.k, table.qgemm_kgroup);
        std::vector<int8_t> packed(
            sparq::kernels::packed_qb_bytes(s.n, s.k, table.qgemm_nr, table.qgemm_kgroup));
        std::vector<int32_t> sums(static_cast<size_t>(s.n));
        sparq::kernels::pack_qb_transposed(qw.data(), s.k, s.n, s.k, table.qgemm_nr,
                                           table.qgemm_kgroup, packed.data(), sums.data());
        sparq::kernels::QGemmEpilogue ep;
        ep.column_sums = sums.data();
        ep.b_scale = b_scale.data();
        ep.a_scale = a_scale.data();
        ep.a_zero_point = a_zp.data();
        ep.bias = bias.data();
        double t = median_seconds(
            [&] {
              sparq::kernels::qgemm(table, s.m, s.n, s.k, qa.data(), kp, packed.data(), ep,
                                    c.data(), nullptr, s.n, &pool);
            },
            seconds);
        fmt::print("{:>16} {:>24} {:>10.3f} {:>9.1f}\n", label, table.u8s8_gemm_name, t * 1e3,
                   flops / t / 1e9);
      }
    }
#ifdef SPARQ_HAVE_DNNL
    {
      using namespace dnnl;
      engine eng(engine::kind::cpu, 0);
      stream strm(eng);
      memory::desc a_md({s.m, s.k}, memory::data_type::f32, memory::format_tag::ab);
      memory::desc w_any({s.k, s.n}, memory::data_type::f32, memory::format_tag::any);
      memory::desc w_md({s.k, s.n}, memory::data_type::f32, memory::format_tag::ba);  // W^T view
      memory::desc bias_md({1, s.n}, memory::data_type::f32, memory::format_tag::ab);
      memory::desc c_md({s.m, s.n}, memory::data_type::f32, memory::format_tag::ab);
#if DNNL_VERSION_MAJOR >= 3
      matmul::primitive_desc pd(eng, a_md, w_any, bias_md, c_md);
#else
      matmul::primitive_desc pd(matmul::desc(a_md, w_any, bias_md, c_md), eng);
#endif
      memory a_mem(a_md, eng, a.data()), w_user(w_md, eng, w.data()),
          b_mem(bias_md, eng, bias.data()), c_mem(c_md, eng, c.data());
      memory w_packed(pd.weights_desc(), eng);
      reorder(w_user, w_packed).execute(strm, w_user, w_packed);
      matmul mm(pd);
      double t = median_seconds(
          [&] {
            mm.execute(strm, {{DNNL_ARG_SRC, a_mem},
                              {DNNL_ARG_WEIGHTS, w_packed},
                              {DNNL_ARG_BIAS, b_mem},
                              {DNNL_ARG_DST, c_mem}});
            strm.wait();
          },
          seconds);
      fmt::print("{:>16} {:>24} {:>10.3f} {:>9.1f}\n", label, "onednn_matmul", t * 1e3,
                 flops / t / 1e9);
    }
#endif
  }
  return 0;
}
