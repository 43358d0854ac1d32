// Measures this machine's fp32 FMA peak per core (AVX-512 and AVX2), single-threaded and with all
// requested threads at once, so benchmark reports can state efficiency against a measured peak.
//
//   build/bench/peak_flops [--threads T] [--json]
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "core/cpu.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Twelve independent FMA chains in named registers: more than latency x throughput on current
// cores, and no array the compiler could keep in memory.
#define SPARQ_FMA12(FMADD)                                                       \
  a0 = FMADD(a0, b, c);                                                          \
  a1 = FMADD(a1, b, c);                                                          \
  a2 = FMADD(a2, b, c);                                                          \
  a3 = FMADD(a3, b, c);                                                          \
  a4 = FMADD(a4, b, c);                                                          \
  a5 = FMADD(a5, b, c);                                                          \
  a6 = FMADD(a6, b, c);                                                          \
  a7 = FMADD(a7, b, c);                                                          \
  a8 = FMADD(a8, b, c);                                                          \
  a9 = FMADD(a9, b, c);                                                          \
  a10 = FMADD(a10, b, c);                                                        \
  a11 = FMADD(a11, b, c);                                                        \
  asm volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5)); \
  asm volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));

#define SPARQ_FMA_LOOP(V, SET1, FMADD, LANES)                                                \
  V a0 = SET1(0.5f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, \
    a9 = a0, a10 = a0, a11 = a0;                                                             \
  const V b = SET1(0.999f), c = SET1(1e-3f);                                                 \
  const auto start = std::chrono::steady_clock::now();                                       \
  long iterations = 0;                                                                       \
  do {                                                                                       \
    for (int rep = 0; rep < 100000; ++rep) {                                                 \
      SPARQ_FMA12(FMADD)                                                                     \
    }                                                                                        \
    iterations += 100000;                                                                    \
  } while (seconds_since(start) < seconds);                                                  \
  return static_cast<double>(iterations) * 12 * (LANES)*2 / seconds_since(start) / 1e9;

__attribute__((target("avx512f"))) double avx512_gflops(double seconds) {
  SPARQ_FMA_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)
}

__attribute__((target("avx2,fma"))) double avx2_gflops(double seconds) {
  SPARQ_FMA_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)
}

// int8 multiply-adds per second with vpdpbusd (64 per instruction), counted as 2 operations each
__attribute__((target("avx512f,avx512vnni"))) double vnni_gops(double seconds) {
  __m512i a0 = _mm512_set1_epi32(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
          a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  const __m512i b = _mm512_set1_epi8(3), c = _mm512_set1_epi8(5);
  const auto start = std::chrono::steady_clock::now();
  long iterations = 0;
  do {
    for (int rep = 0; rep < 100000; ++rep) {
      a0 = _mm512_dpbusd_epi32(a0, b, c);
      a1 = _mm512_dpbusd_epi32(a1, b, c);
      a2 = _mm512_dpbusd_epi32(a2, b, c);
      a3 = _mm512_dpbusd_epi32(a3, b, c);
      a4 = _mm512_dpbusd_epi32(a4, b, c);
      a5 = _mm512_dpbusd_epi32(a5, b, c);
      a6 = _mm512_dpbusd_epi32(a6, b, c);
      a7 = _mm512_dpbusd_epi32(a7, b, c);
      a8 = _mm512_dpbusd_epi32(a8, b, c);
      a9 = _mm512_dpbusd_epi32(a9, b, c);
      a10 = _mm512_dpbusd_epi32(a10, b, c);
      a11 = _mm512_dpbusd_epi32(a11, b, c);
      asm volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
      asm volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
    }
    iterations += 100000;
  } while (seconds_since(start) < seconds);
  return static_cast<double>(iterations) * 12 * 64 * 2 / seconds_since(start) / 1e9;
}

template <typename F>
double all_threads(int threads, F f) {
  std::vector<double> results(static_cast<size_t>(threads));
  std::vector<std::thread> team;
  for (int t = 0; t < threads; ++t)
    team.emplace_back([&, t] { results[static_cast<size_t>(t)] = f(); });
  for (auto& t : team) t.join();
  double sum = 0;
  for (double r : results) sum += r;
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = sparq::core::physical_core_count();
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--json"))
      json = true;
    else {
      std::fprintf(stderr, "usage: peak_flops [--threads T] [--json]\n");
      return 2;
    }
  }
  const auto& cpu = sparq::core::cpu_features();
  double a512 = cpu.avx512f ? avx512_gflops(1.0) : 0.0;
  double a512_all = cpu.avx512f ? all_threads(threads, [] { return avx512_gflops(1.0); }) : 0.0;
  double a2 = cpu.avx2 && cpu.fma ? avx2_gflops(1.0) : 0.0;
  double vnni = cpu.avx512vnni ? vnni_gops(1.0) : 0.0;
  double vnni_all = cpu.avx512vnni ? all_threads(threads, [] { return vnni_gops(1.0); }) : 0.0;
  if (json) {
    std::printf(
        "{\"threads\": %d, \"avx512_gflops_per_core\": %.1f, \"avx512_gflops_all_threads\": %.1f, "
        "\"avx2_gflops_per_core\": %.1f, \"vnni_gops_per_core\": %.1f, \"vnni_gops_all_threads\": "
        "%.1f}\n",
        threads, a512, a512_all, a2, vnni, vnni_all);
  } else {
    std::printf(
        "fp32 FMA peak: AVX-512 %.1f GFLOP/s on one core, %.1f on %d threads; AVX2 %.1f on one "
        "core\n",
        a512, a512_all, threads, a2);
    std::printf("int8 peak: AVX-512 VNNI %.1f GOP/s on one core, %.1f on %d threads\n", vnni,
                vnni_all, threads);
  }
  return 0;
}
