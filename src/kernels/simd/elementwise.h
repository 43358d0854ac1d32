// Row kernels (LayerNorm, softmax, activations) written once over vector traits; see vec_math.h
// for why only kernel sources include this.
#pragma once

#include <cstdint>

#include "kernels/simd/vec_math.h"

namespace sparq::kernels::simd {

template <class V>
void layernorm(const float* x, const float* gamma, const float* beta, float eps, float* y,
               int64_t n) {
  using F = typename V::F;
  constexpr int W = V::width;
  // two passes (mean, then squared deviations) as the reference computes it
  F s0 = V::zero(), s1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 = V::add(s0, V::load(x + i));
    s1 = V::add(s1, V::load(x + i + W));
  }
  for (; i < n; i += W) s0 = V::add(s0, V::load_partial(x + i, n - i, 0.0f));
  const float mean = V::reduce_add(V::add(s0, s1)) / static_cast<float>(n);
  const F vmean = V::set1(mean);
  F q0 = V::zero(), q1 = V::zero();
  for (i = 0; i + 2 * W <= n; i += 2 * W) {
    F d0 = V::sub(V::load(x + i), vmean);
    F d1 = V::sub(V::load(x + i + W), vmean);
    q0 = V::fmadd(d0, d0, q0);
    q1 = V::fmadd(d1, d1, q1);
  }
  for (; i < n; i += W) {
    F d = V::sub(V::load_partial(x + i, n - i, mean), vmean);
    q0 = V::fmadd(d, d, q0);
  }
  const float var = V::reduce_add(V::add(q0, q1)) / static_cast<float>(n);
  const F rstd = V::set1(1.0f / __builtin_sqrtf(var + eps));
  for (i = 0; i + W <= n; i += W) {
    F v = V::mul(V::sub(V::load(x + i), vmean), rstd);
    V::store(y + i, V::fmadd(v, V::load(gamma + i), V::load(beta + i)));
  }
  if (i < n) {
    int rest = static_cast<int>(n - i);
    F v = V::mul(V::sub(V::load_partial(x + i, rest, mean), vmean), rstd);
    V::store_partial(
        y + i,
        V::fmadd(v, V::load_partial(gamma + i, rest, 0.0f), V::load_partial(beta + i, rest, 0.0f)),
        rest);
  }
}

// row = row * scale + mask_bias in place; returns the largest value. Rows are short (a
// sequence's keys), so the running maximum and sums below use two accumulators to halve their
// dependency chains.
template <class V>
float scale_mask_max(float* row, int64_t n, float scale, const float* mask_bias) {
  using F = typename V::F;
  constexpr int W = V::width;
  const F vscale = V::set1(scale);
  const float lowest = -3.4028234663852886e38f;
  F max0 = V::set1(lowest), max1 = max0;
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    F a = V::mul(V::load(row + i), vscale), b = V::mul(V::load(row + i + W), vscale);
    if (mask_bias) {
      a = V::add(a, V::load(mask_bias + i));
      b = V::add(b, V::load(mask_bias + i + W));
    }
    V::store(row + i, a);
    V::store(row + i + W, b);
    max0 = V::max(max0, a);
    max1 = V::max(max1, b);
  }
  for (; i < n; i += W) {
    const int rest = n - i < W ? static_cast<int>(n - i) : W;
    F v = V::mul(V::load_partial(row + i, rest, 0.0f), vscale);
    if (mask_bias) v = V::add(v, V::load_partial(mask_bias + i, rest, 0.0f));
    V::store_partial(row + i, v, rest);
    max0 = V::max(max0, rest == W ? v : V::load_partial(row + i, rest, lowest));
  }
  return V::reduce_max(V::max(max0, max1));
}

template <class V>
void softmax(float* row, int64_t n, float scale, const float* mask_bias) {
  using F = typename V::F;
  constexpr int W = V::width;
  const F m = V::set1(scale_mask_max<V>(row, n, scale, mask_bias));
  F sum0 = V::zero(), sum1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const F a = exp<V>(V::sub(V::load(row + i), m));
    const F b = exp<V>(V::sub(V::load(row + i + W), m));
    V::store(row + i, a);
    V::store(row + i + W, b);
    sum0 = V::add(sum0, a);
    sum1 = V::add(sum1, b);
  }
  for (; i < n; i += W) {
    const int rest = n - i < W ? static_cast<int>(n - i) : W;
    const F e = exp<V>(V::sub(V::load_partial(row + i, rest, 0.0f), m));
    V::store_partial(row + i, e, rest);
    sum0 = V::add(sum0, rest == W ? e : V::load_partial(row + i, rest, 0.0f));
  }
  const F inv = V::set1(1.0f / V::reduce_add(V::add(sum0, sum1)));
  for (i = 0; i < n; i += W) {
    const int rest = n - i < W ? static_cast<int>(n - i) : W;
    V::store_partial(row + i, V::mul(V::load_partial(row + i, rest, 0.0f), inv), rest);
  }
}

template <class V>
float u8_softmax(float* row, int64_t n, float scale, const float* mask_bias, uint8_t* q) {
  using F = typename V::F;
  constexpr int W = V::width;
  const float lowest = -3.4028234663852886e38f;
  const F m = V::set1(scale_mask_max<V>(row, n, scale, mask_bias));
  // exp_coarse is within 5e-5 of e^x <= 1, so every level rounds into [0, 255]: no clamp
  const F levels = V::set1(255.0f);
  F sum0 = V::zero(), sum1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const F a = exp_coarse<V>(V::sub(V::load(row + i), m));
    const F b = exp_coarse<V>(V::sub(V::load(row + i + W), m));
    sum0 = V::add(sum0, a);
    sum1 = V::add(sum1, b);
    V::store_u8_whole(q + i, V::pack_u8_low(V::cvt_f_i_nearest(V::mul(a, levels))));
    V::store_u8_whole(q + i + W, V::pack_u8_low(V::cvt_f_i_nearest(V::mul(b, levels))));
  }
  for_each_vector<V>(n - i, [&](int64_t j, auto lanes) {
    // lanes past n are exp(lowest), below 1e-37
    const F e = exp_coarse<V>(V::sub(load_lanes<V>(row + i + j, lanes, lowest), m));
    sum0 = V::add(sum0, e);
    store_u8_lanes<V>(q + i + j, V::pack_u8_low(V::cvt_f_i_nearest(V::mul(e, levels))), lanes);
  });
  return 1.0f / (255.0f * V::reduce_add(V::add(sum0, sum1)));
}

template <class V>
void activation(Activation act, float* x, int64_t n) {
  constexpr int W = V::width;
  int64_t i = 0;
  for (; i + W <= n; i += W) V::store(x + i, activate<V>(act, V::load(x + i)));
  if (i < n) {
    int rest = static_cast<int>(n - i);
    V::store_partial(x + i, activate<V>(act, V::load_partial(x + i, rest, 0.0f)), rest);
  }
}

}  // namespace sparq::kernels::simd
