// The fp32 GEMM register tile written once over vector traits: MR rows of A broadcast against NV
// vectors of a packed B panel, MR x NV accumulators held in registers for the whole K loop, and
// the epilogue (bias, activation, residual) applied before the single store. See vec_math.h for
// why only kernel sources include this.
#pragma once

#include <cstdint>
#include <utility>

#include "kernels/simd/vec_math.h"

namespace sparq::kernels::simd {

template <class V, int MR, int NV>
void gemm_tile(const GemmTileArgs& t) {
  using F = typename V::F;
  constexpr int W = V::width;
  F acc[MR][NV];
  const int nr = t.nr;
  if (t.accumulate) {
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NV; ++j) {
        int valid = nr - j * W;
        acc[r][j] = valid >= W  ? V::load(t.c + r * t.ldc + j * W)
                    : valid > 0 ? V::load_partial(t.c + r * t.ldc + j * W, valid, 0.0f)
                                : V::zero();
      }
  } else {
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NV; ++j) acc[r][j] = V::zero();
  }

  const float* a = t.a;
  const float* b = t.b;
  const int64_t lda = t.lda;
  for (int64_t k = 0; k < t.k; ++k) {
    F bv[NV];
    for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * W);
    b += NV * W;
    for (int r = 0; r < MR; ++r) {
      F av = V::set1(a[r * lda + k]);
      for (int j = 0; j < NV; ++j) acc[r][j] = V::fmadd(av, bv[j], acc[r][j]);
    }
  }

  const GemmEpilogue* ep = t.epilogue;
  for (int j = 0; j < NV; ++j) {
    int valid = nr - j * W;
    if (valid <= 0) break;
    F bias = V::zero();
    if (ep && ep->bias)
      bias =
          valid >= W ? V::load(ep->bias + j * W) : V::load_partial(ep->bias + j * W, valid, 0.0f);
    for (int r = 0; r < MR; ++r) {
      F v = acc[r][j];
      if (ep) {
        v = activate<V>(ep->activation, V::add(v, bias));
        if (ep->residual) {
          const float* res = ep->residual + r * ep->ldr + j * W;
          v = V::add(v, valid >= W ? V::load(res) : V::load_partial(res, valid, 0.0f));
        }
      }
      float* out = t.c + r * t.ldc + j * W;
      if (valid >= W)
        V::store(out, v);
      else
        V::store_partial(out, v, valid);
    }
  }
}

// Dispatches the runtime row count (1..MR) to a tile compiled for exactly that many rows.
template <class V, int MR, int NV, int... Rows>
void gemm_tile_rows(const GemmTileArgs& t, std::integer_sequence<int, Rows...>) {
  using Fn = void (*)(const GemmTileArgs&);
  static constexpr Fn kTiles[] = {&gemm_tile<V, Rows + 1, NV>...};
  kTiles[t.mr - 1](t);
}

template <class V, int MR, int NV>
void gemm_tile_any_rows(const GemmTileArgs& t) {
  if (t.mr == MR)
    gemm_tile<V, MR, NV>(t);
  else
    gemm_tile_rows<V, MR, NV>(t, std::make_integer_sequence<int, MR>{});
}

}  // namespace sparq::kernels::simd
