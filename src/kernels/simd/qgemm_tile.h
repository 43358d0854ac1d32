// The u8 x s8 -> s32 GEMM register tile, written once over vector traits V (float and int32
// operations) and dot-product traits D (how a group of K is multiplied into the int32 lanes:
// vpdpbusd for 4, sign extension + vpmaddwd for 2). Accumulation is exact; the epilogue
// dequantizes with the same float operations, in the same order, as the scalar reference.
// See vec_math.h for why only kernel sources include this.
#pragma once

#include <cstdint>
#include <utility>

#include "kernels/simd/vec_math.h"

namespace sparq::kernels::simd {

template <class V, class D, int MR, int NV>
void qgemm_tile(const QGemmTileArgs& t) {
  using I = typename V::I;
  using F = typename V::F;
  constexpr int W = V::width;  // int32 lanes, i.e. output columns, per vector
  constexpr int G = D::kgroup;
  I acc[MR][NV];
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[r][j] = V::zero_i();

  const uint8_t* a = t.a;
  const int8_t* b = t.b;
  const int64_t lda = t.lda;
  for (int64_t k = 0; k < t.k; k += G) {
    typename D::B bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = D::load_b(b + j * W * G);
    b += NV * W * G;
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) {
      const I av = D::broadcast_a(a + r * lda + k);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[r][j] = D::dot(acc[r][j], av, bv[j]);
    }
  }

  // Every index into acc is a compile-time constant (no early exit), so the compiler keeps the
  // accumulators in registers through the K loop; the epilogue then reads them back from here.
  alignas(64) int32_t tile[MR][NV * W];
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) V::store_i(tile[r] + j * W, acc[r][j]);

  const QGemmEpilogue& ep = *t.epilogue;
  const Requantize& rq = ep.requantize;
  // loaded once: the u8 stores below may alias anything, so the compiler could reload them
  const U8Quantizer<V> requantize(rq.inv_scale, rq.zero_point);
  for (int j = 0; j < NV; ++j) {
    const int valid = t.nr - j * W;
    if (valid <= 0) break;
    const bool full = valid >= W;
    if (ep.raw) {
      for (int r = 0; r < MR; ++r) {
        int32_t* out = t.c_raw + r * t.ldc + j * W;
        if (full)
          V::store_i(out, V::load_i(tile[r] + j * W));
        else
          V::store_i_partial(out, V::load_i(tile[r] + j * W), valid);
      }
      continue;
    }
    const I sums =
        full ? V::load_i(ep.column_sums + j * W) : V::load_i_partial(ep.column_sums + j * W, valid);
    const F b_scale = !ep.per_channel ? V::set1(ep.b_scale[0])
                      : full          ? V::load(ep.b_scale + j * W)
                                      : V::load_partial(ep.b_scale + j * W, valid, 0.0f);
    F bias = V::zero();
    if (ep.bias)
      bias = full ? V::load(ep.bias + j * W) : V::load_partial(ep.bias + j * W, valid, 0.0f);
    const F rq_column_scale =
        rq.column_scale ? V::load_partial(rq.column_scale + j * W, valid, 0.0f) : V::zero();
    for (int r = 0; r < MR; ++r) {
      const I adjusted =
          V::sub_i(V::load_i(tile[r] + j * W),
                   V::mullo_i(V::set1_i(ep.a_zero_point[r * ep.a_zero_point_stride]), sums));
      const F scale = V::mul(b_scale, V::set1(ep.a_scale[r * ep.a_scale_stride]));
      F v = activate<V>(ep.activation, V::fmadd(V::cvt_i_f(adjusted), scale, bias));
      if (ep.residual) {
        const float* res = ep.residual + r * ep.ldr + j * W;
        v = V::add(v, full ? V::load(res) : V::load_partial(res, valid, 0.0f));
      }
      if (rq.q) {
        if (rq.column_scale) v = V::mul(v, rq_column_scale);
        V::store_u8(rq.q + r * rq.ldq + j * W, V::pack_u8_low(requantize(v)), full ? W : valid);
        continue;
      }
      float* out = t.c + r * t.ldc + j * W;
      if (full)
        V::store(out, v);
      else
        V::store_partial(out, v, valid);
    }
  }
}

template <class V, class D, int MR, int NV, int... Rows>
void qgemm_tile_rows(const QGemmTileArgs& t, std::integer_sequence<int, Rows...>) {
  using Fn = void (*)(const QGemmTileArgs&);
  static constexpr Fn kTiles[] = {&qgemm_tile<V, D, Rows + 1, NV>...};
  kTiles[t.mr - 1](t);
}

template <class V, class D, int MR, int NV>
void qgemm_tile_any_rows(const QGemmTileArgs& t) {
  if (t.mr == MR)
    qgemm_tile<V, D, MR, NV>(t);
  else
    qgemm_tile_rows<V, D, MR, NV>(t, std::make_integer_sequence<int, MR>{});
}

// q = clamp(round(clamp(x * inv_scale)) + zero_point, 0, 255)
template <class V>
void u8_quantize(const float* x, int64_t n, const float* column_scale, float inv_scale,
                 int32_t zero_point, uint8_t* q) {
  const U8Quantizer<V> quantize(inv_scale, zero_point);
  for_each_vector<V>(n, [&](int64_t i, auto lanes) {
    typename V::F v = load_lanes<V>(x + i, lanes, 0.0f);
    if (column_scale) v = V::mul(v, load_lanes<V>(column_scale + i, lanes, 0.0f));
    store_u8_lanes<V>(q + i, V::pack_u8_low(quantize(v)), lanes);
  });
}

// Writes the bytes round_half_even(x[i] * inv) + offset of one row and returns the values' sum
// per lane, as floats (|sum| <= 127 n is exact in a float for any row length used here).
template <class V>
typename V::F symmetric_row_bytes(const float* x, int64_t n, typename V::F inv, int32_t offset,
                                  uint8_t* q) {
  using I = typename V::I;
  const I bias = V::set1_i(offset);
  I total = V::zero_i();
  for_each_vector<V>(n, [&](int64_t i, auto lanes) {
    const I v = V::cvt_f_i_nearest(V::mul(load_lanes<V>(x + i, lanes, 0.0f), inv));
    total = V::add_i(total, v);
    store_u8_lanes<V>(q + i, V::pack_u8_low(V::add_i(v, bias)), lanes);
  });
  return V::cvt_i_f(total);
}

// i8_quantize_symmetric_rows (see kernels.h) for one row.
template <class V>
float i8_quantize_symmetric(const float* x, int64_t n, int32_t offset, uint8_t* q, int32_t* sum) {
  using F = typename V::F;
  F max_abs = V::zero();
  for_each_vector<V>(n, [&](int64_t i, auto lanes) {
    max_abs = V::max(max_abs, V::abs(load_lanes<V>(x + i, lanes, 0.0f)));
  });
  const float largest = V::reduce_max(max_abs);
  const float scale = largest > 0.0f ? largest / 127.0f : 1.0f;
  const F total = symmetric_row_bytes<V>(x, n, V::set1(1.0f / scale), offset, q);
  if (sum) *sum = static_cast<int32_t>(V::reduce_add(total));
  return scale;
}

// Lane r of the result = op over the lanes of v[r] (v is transposed in place): W horizontal
// reductions for about the shuffles of one transpose.
template <class V, typename Op>
typename V::F reduce_lanes_of_each(typename V::F (&v)[V::width], Op op) {
  V::transpose(v);
  typename V::F out = v[0];
#pragma GCC unroll 16
  for (int r = 1; r < V::width; ++r) out = op(out, v[r]);
  return out;
}

// Rows of W at a time: attention quantizes ~50k rows of 64-128 values per BERT-base inference,
// and one row's horizontal max and sum are chains of shuffles longer than its arithmetic, so
// the rows' W partial vectors are transposed and reduced together, and the scales divided as one
// vector. Max, division and integer sums are exact in any order: the bytes and scales are the
// one-row kernel's.
template <class V>
void i8_quantize_symmetric_rows(const float* x, int64_t ldx, int64_t m, int64_t n, int32_t offset,
                                uint8_t* q, int64_t ldq, float* scales, int32_t* sums) {
  using F = typename V::F;
  constexpr int W = V::width;
  int64_t r0 = 0;
  for (; r0 + W <= m; r0 += W) {
    F part[W];
#pragma GCC unroll 16
    for (int r = 0; r < W; ++r) part[r] = V::zero();
    for_each_vector<V>(n, [&](int64_t i, auto lanes) {
#pragma GCC unroll 16
      for (int r = 0; r < W; ++r)
        part[r] = V::max(part[r], V::abs(load_lanes<V>(x + (r0 + r) * ldx + i, lanes, 0.0f)));
    });
    const F largest = reduce_lanes_of_each<V>(part, [](F a, F b) { return V::max(a, b); });
    const F one = V::set1(1.0f);
    const F scale = V::select_lt(V::zero(), largest, V::div(largest, V::set1(127.0f)), one);
    V::store(scales + r0, scale);
    alignas(64) float inv[W];
    V::store(inv, V::div(one, scale));
    F total[W];
    for (int r = 0; r < W; ++r) {
      uint8_t* out = q + (r0 + r) * ldq;
      total[r] = symmetric_row_bytes<V>(x + (r0 + r) * ldx, n, V::set1(inv[r]), offset, out);
      for (int64_t i = n; i < ldq; ++i) out[i] = 0;
    }
    if (!sums) continue;
    const F row_sums = reduce_lanes_of_each<V>(total, [](F a, F b) { return V::add(a, b); });
    V::store_i(sums + r0, V::cvt_f_i_nearest(row_sums));
  }
  for (; r0 < m; ++r0) {
    uint8_t* out = q + r0 * ldq;
    scales[r0] = i8_quantize_symmetric<V>(x + r0 * ldx, n, offset, out, sums ? sums + r0 : nullptr);
    for (int64_t i = n; i < ldq; ++i) out[i] = 0;
  }
}

template <class V>
void f32_minmax(const float* x, int64_t n, const float* column_scale, float* min_out,
                float* max_out) {
  using F = typename V::F;
  constexpr int W = V::width;
  // four pairs of running extremes: one pair would be two chains of min/max latency per vector
  constexpr int kChains = 4;
  const float first = column_scale ? x[0] * column_scale[0] : x[0];
  F lo[kChains], hi[kChains];
  for (int c = 0; c < kChains; ++c) lo[c] = hi[c] = V::set1(first);
  auto scaled = [&](int64_t i, auto lanes) {
    F v = load_lanes<V>(x + i, lanes, x[0]);
    return column_scale ? V::mul(v, load_lanes<V>(column_scale + i, lanes, column_scale[0])) : v;
  };
  int64_t i = 0;
  for (; i + kChains * W <= n; i += kChains * W)
#pragma GCC unroll 4
    for (int c = 0; c < kChains; ++c) {
      const F v = scaled(i + c * W, Whole<V>{});
      lo[c] = V::min(lo[c], v);
      hi[c] = V::max(hi[c], v);
    }
  for_each_vector<V>(n - i, [&](int64_t j, auto lanes) {
    const F v = scaled(i + j, lanes);
    lo[0] = V::min(lo[0], v);
    hi[0] = V::max(hi[0], v);
  });
  for (int c = 1; c < kChains; ++c) {
    lo[0] = V::min(lo[0], lo[c]);
    hi[0] = V::max(hi[0], hi[c]);
  }
  *min_out = V::reduce_min(lo[0]);
  *max_out = V::reduce_max(hi[0]);
}

}  // namespace sparq::kernels::simd
