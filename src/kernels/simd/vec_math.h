// Vector math written once over a vector-traits type V (see avx2/ and avx512/). Only kernel
// sources include this, and their traits types live in anonymous namespaces, so every
// instantiation has internal linkage and code built for one ISA never stands in for another's.
//
// V provides: F (register type), width, zero, set1, load, store, load_partial(p, n, fill),
// store_partial, add, sub, mul, div, fmadd(a, b, c) = a*b + c, fnmadd(a, b, c) = c - a*b, max,
// min, abs, rcp_estimate (about 12 bits or better), round (to nearest), scale_pow2(p, n) = p * 2^n
// for integral n, select_lt(a, b, t, f)
// = a < b ? t : f, reduce_add, reduce_max; for bytes, pack_u8_low (the low byte of each int32
// lane), store_u8(p, bytes, n) and store_u8_whole.
#pragma once

#include <type_traits>

#include "kernels/kernels.h"

namespace sparq::kernels::simd {

// The lane count of a whole vector as a type, so that the loads and stores of whole vectors
// compile without masks (AVX2's partial u8 store is a byte loop).
template <class V>
using Whole = std::integral_constant<int, V::width>;

// body(i, lanes) for the vectors of [0, n): lanes is Whole<V> for every whole vector, then the
// int lane count of a last partial one (attention's 64-value key rows quantized about 15 %
// faster without the masks).
template <class V, typename Body>
inline void for_each_vector(int64_t n, Body&& body) {
  int64_t i = 0;
  for (; i + V::width <= n; i += V::width) body(i, Whole<V>{});
  if (i < n) body(i, static_cast<int>(n - i));
}

template <class V, typename Lanes>
inline typename V::F load_lanes(const float* p, Lanes lanes, float fill) {
  if constexpr (std::is_same_v<Lanes, Whole<V>>)
    return V::load(p);
  else
    return V::load_partial(p, lanes, fill);
}

// Stores bytes from V::pack_u8_*.
template <class V, typename Lanes>
inline void store_u8_lanes(uint8_t* p, __m128i bytes, Lanes lanes) {
  if constexpr (std::is_same_v<Lanes, Whole<V>>)
    V::store_u8_whole(p, bytes);
  else
    V::store_u8(p, bytes, lanes);
}

// e^x with a relative error of about 1 ulp; exactly 0 below ln(FLT_MIN), so that masked
// attention scores vanish as they do in the reference.
template <class V>
inline typename V::F exp(typename V::F x) {
  using F = typename V::F;
  const F lo = V::set1(-87.33654475f);
  const F hi = V::set1(88.37626266f);  // keeps 2^n finite
  F xc = V::min(V::max(x, lo), hi);
  F n = V::round(V::mul(xc, V::set1(1.44269504088896341f)));
  // Cody-Waite: ln2 split so that n * ln2_hi is exact
  F r = V::fnmadd(n, V::set1(0.693359375f), xc);
  r = V::fnmadd(n, V::set1(-2.12194440e-4f), r);
  // Taylor series of e^r on |r| <= ln2/2; the first omitted term is below 1.3e-7 relative
  F p = V::set1(1.0f / 720);
  p = V::fmadd(p, r, V::set1(1.0f / 120));
  p = V::fmadd(p, r, V::set1(1.0f / 24));
  p = V::fmadd(p, r, V::set1(1.0f / 6));
  p = V::fmadd(p, r, V::set1(0.5f));
  p = V::fmadd(p, r, V::set1(1.0f));
  p = V::fmadd(p, r, V::set1(1.0f));
  return V::select_lt(x, lo, V::zero(), V::scale_pow2(p, n));
}

// e^x for x <= 0 with a relative error below 5e-5 (about 0 below ln(FLT_MIN)): enough for
// probabilities quantized to 8 bits, at about half the cost of exp().
template <class V>
inline typename V::F exp_coarse(typename V::F x) {
  using F = typename V::F;
  const F xc = V::max(x, V::set1(-87.33654475f));
  const F n = V::round(V::mul(xc, V::set1(1.44269504088896341f)));
  const F r = V::fnmadd(n, V::set1(0.69314718056f), xc);
  // Taylor series on |r| <= ln2/2; the first omitted term is below 4.2e-5
  F p = V::set1(1.0f / 24);
  p = V::fmadd(p, r, V::set1(1.0f / 6));
  p = V::fmadd(p, r, V::set1(0.5f));
  p = V::fmadd(p, r, V::set1(1.0f));
  p = V::fmadd(p, r, V::set1(1.0f));
  return V::scale_pow2(p, n);
}

// 1 / d from the hardware estimate refined by one Newton step (error about 1e-7 relative), much
// cheaper than a division. d = +inf gives 0, as the activations below need.
template <class V>
inline typename V::F reciprocal(typename V::F d) {
  using F = typename V::F;
  const F r = V::rcp_estimate(d);
  const F refined = V::fmadd(V::fnmadd(d, r, V::set1(1.0f)), r, r);
  return V::select_lt(V::abs(r), V::set1(1e-30f), V::zero(), refined);
}

// x * sigmoid(2u) == 0.5 x (1 + tanh(u)), written without the cancellation of 1 + tanh(u).
template <class V>
inline typename V::F x_times_sigmoid(typename V::F x, typename V::F two_u) {
  using F = typename V::F;
  F e = exp<V>(V::sub(V::zero(), two_u));
  return V::mul(x, reciprocal<V>(V::add(V::set1(1.0f), e)));
}

template <class V>
inline typename V::F tanh(typename V::F x) {
  using F = typename V::F;
  // tanh(x) = 2 / (1 + e^-2x) - 1; absolute error about 1e-7
  F e = exp<V>(V::mul(x, V::set1(-2.0f)));
  return V::sub(V::mul(V::set1(2.0f), reciprocal<V>(V::add(V::set1(1.0f), e))), V::set1(1.0f));
}

// Hugging Face "gelu_new" / "gelu_pytorch_tanh": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
template <class V>
inline typename V::F gelu_tanh(typename V::F x) {
  using F = typename V::F;
  F x3 = V::mul(V::mul(x, x), x);
  F u = V::fmadd(x3, V::set1(0.044715f), x);
  F two_u = V::mul(u, V::set1(2.0f * 0.7978845608028654f));
  return x_times_sigmoid<V>(x, two_u);
}

// Exact GELU, 0.5 x (1 + erf(x / sqrt 2)). erf(z) is a rational function of z on [-4, 4]
// (odd degree-13 numerator over a degree-8 denominator in z^2, the minimax fit Eigen uses), with
// an absolute error below 3.5e-7; beyond 4 it is +-1 to within 2e-8. No exp and no division
// (the denominator stays below -0.014, so one Newton step on the reciprocal estimate suffices):
// about half the operations of erfc-based forms. Below z = -4 GELU is 0 to within 5e-8, and it
// returns 0 there: x / 2 * (1 + erf) would scale erf's error by |x| (and the reciprocal
// estimate's, which differs between CPUs: AVX2's rcpps made -2.5e-6 of GELU(-80) on an Intel
// Xeon, within bounds on AMD).
template <class V>
inline typename V::F gelu_erf(typename V::F x) {
  using F = typename V::F;
  const F unclamped = V::mul(x, V::set1(0.70710678118654752f));
  const F z = V::min(V::max(unclamped, V::set1(-4.0f)), V::set1(4.0f));
  const F z2 = V::mul(z, z);
  F p = V::set1(-2.72614225801306e-10f);
  p = V::fmadd(p, z2, V::set1(2.77068142495902e-08f));
  p = V::fmadd(p, z2, V::set1(-2.10102402082508e-06f));
  p = V::fmadd(p, z2, V::set1(-5.69250639462346e-05f));
  p = V::fmadd(p, z2, V::set1(-7.34990630326855e-04f));
  p = V::fmadd(p, z2, V::set1(-2.95459980854025e-03f));
  p = V::fmadd(p, z2, V::set1(-1.60960333262415e-02f));
  p = V::mul(p, z);
  F q = V::set1(-1.45660718464996e-05f);
  q = V::fmadd(q, z2, V::set1(-2.13374055278905e-04f));
  q = V::fmadd(q, z2, V::set1(-1.68282697438203e-03f));
  q = V::fmadd(q, z2, V::set1(-7.37332916720468e-03f));
  q = V::fmadd(q, z2, V::set1(-1.42647390514189e-02f));
  F r = V::rcp_estimate(q);
  r = V::fmadd(V::fnmadd(q, r, V::set1(1.0f)), r, r);
  const F erf = V::mul(p, r);
  const F half_x = V::mul(x, V::set1(0.5f));
  return V::select_lt(unclamped, V::set1(-4.0f), V::zero(), V::fmadd(half_x, erf, half_x));
}

// u8_quantize's arithmetic on vectors already multiplied by their column scales: the u8 values
// as int32 lanes in [0, 255]. Clamping x * inv to [-zero_point, 255 - zero_point] before rounding
// gives the bytes of rounding, adding the zero point and clamping to [0, 255] (the bounds are
// integers, which rounding keeps, and rounding is monotonic) in two fewer operations a vector.
template <class V>
struct U8Quantizer {
  typename V::F inv_scale, lowest, highest;
  typename V::I zero_point;
  U8Quantizer(float inv, int32_t zero)
      : inv_scale(V::set1(inv)),
        lowest(V::set1(static_cast<float>(-zero))),
        highest(V::set1(static_cast<float>(255 - zero))),
        zero_point(V::set1_i(zero)) {}
  typename V::I operator()(typename V::F v) const {
    v = V::min(V::max(V::mul(v, inv_scale), lowest), highest);
    return V::add_i(V::cvt_f_i_nearest(v), zero_point);
  }
};

template <class V>
inline typename V::F relu(typename V::F x) {
  return V::max(x, V::zero());
}

template <class V>
inline typename V::F activate(Activation activation, typename V::F x) {
  switch (activation) {
    case Activation::none:
      return x;
    case Activation::gelu_erf:
      return gelu_erf<V>(x);
    case Activation::gelu_tanh:
      return gelu_tanh<V>(x);
    case Activation::relu:
      return relu<V>(x);
    case Activation::tanh:
      return tanh<V>(x);
  }
  return x;
}

}  // namespace sparq::kernels::simd
