// AVX-512 VNNI: the AVX-512 kernels, with the integer GEMM on vpdpbusd.
#include <immintrin.h>

#include <cstdint>

#include "core/cpu.h"
#include "kernels/simd/qgemm_tile.h"
#include "kernels/simd/spmm_tile.h"
#include "kernels/tables.h"

namespace sparq::kernels {
namespace {

#include "kernels/avx512/vec_avx512.h"

// 12 rows x 2 zmm of int32: 24 accumulators + 2 weight vectors + 1 broadcast.
constexpr int kQMR = 12;
void u8s8_gemm_12x32c4__avx512vnni(const QGemmTileArgs& t) {
  simd::qgemm_tile_any_rows<V512, DotVnni512, kQMR, 2>(t);
}

void u8s8_spmm_16x128c4__avx512vnni(const SpmmTileArgs& t) {
  simd::u8s8_spmm_tile<V512, SpDotVnni512>(t);
}

// Four u8 inputs per word are already the bytes of a row of q: a plain 32-bit transpose.
void spmm_transpose_u8__avx512vnni(const uint8_t* q, int64_t ldq, int64_t tokens, int64_t k,
                                   uint32_t* xt, int64_t ldxt) {
  simd::transpose_32<V512>(reinterpret_cast<const uint32_t*>(q), ldq / 4, tokens, k / 4, xt, ldxt);
}

}  // namespace

const KernelTable& vnni_table() {
  static const KernelTable table = [] {
    KernelTable t = avx512_table();
    t.isa = Isa::avx512_vnni;
    t.isa_name = "avx512_vnni";
    t.u8s8_gemm_name = "u8s8_gemm_12x32c4__avx512vnni";
    t.qgemm_mr = kQMR;
    t.qgemm_nr = 32;
    t.qgemm_kgroup = DotVnni512::kgroup;
    t.u8s8_gemm_tile = u8s8_gemm_12x32c4__avx512vnni;
    t.u8s8_spmm_name = "u8s8_spmm_16x128c4__avx512vnni";
    t.spmm_kgroup = SpDotVnni512::kgroup;
    // the worst of bench/spmm_bench's shapes (2 threads, 16-128 tokens, weights cycled): sparse /
    // dense 1.06 at 60 % block4, 0.88 at 70 %, 0.62 at 80 % on an Intel Xeon (Emerald Rapids).
    // 1.7, fitted on an AMD EPYC (Zen 5), ran 60 % sparse on the Xeon, up to 6 % slower than dense.
    t.spmm_u8s8_cost_per_weight = 2.2f;
    // Intel cores (Emerald Rapids here) keep 48 KiB of activations in their 48 KiB L1 as fast as
    // 24: 64-token int8 tiles then make all of K = 768 one pass (spmm_bench --variants, one
    // thread, 90 % block4, 64 tokens: 3072x768 0.215 -> 0.180 ms, 2304x768 0.151 -> 0.126 ms),
    // and fp32 tiles at 16 tokens gain 15-25 %. On an AMD EPYC (Zen 5) the 64-token one-pass
    // tiles measured slower, so other CPUs keep 24 KiB.
    if (core::cpu_features().vendor == "GenuineIntel") t.spmm_pass_bytes = 48 * 1024;
    t.u8s8_spmm_tile = u8s8_spmm_16x128c4__avx512vnni;
    t.spmm_transpose_u8 = spmm_transpose_u8__avx512vnni;
    return t;
  }();
  return table;
}

}  // namespace sparq::kernels
