// The sparse-weight tiles (SpMM, see SpmmTileArgs in kernels.h), written once over vector traits
// V and, for int8, sparse dot traits D. Tokens run along the vector lanes: each nonzero weight
// block is broadcast and multiplied into C token vectors, so the work is proportional to the
// nonzero blocks whatever their positions. One output row at a time is too short a dependency
// chain for few tokens, so a row's blocks are split into S interleaved streams with their own
// accumulators (S * C == 8), summed at the end; with S == 1 the fp32 sum runs in the dense
// tile's order. The epilogue runs on token vectors (bias, scales and activation are per row
// scalars), then a W x W register transpose writes the rows back as output columns.
// See vec_math.h for why only kernel sources include this.
#pragma once

#include <cstdint>

#include "kernels/simd/vec_math.h"

namespace sparq::kernels::simd {

// Sums one row's fp32 blocks [begin, end) into out[0..C), starting from init (partial sums of
// earlier passes, or null for zero) in stream 0: with S == 1 every product is added in the
// dense tile's order.
template <class V, int B, int C, int S>
inline void f32_spmm_row(const float* xt, int64_t ldxt, const uint16_t* index, const float* values,
                         int32_t begin, int32_t end, const float* init, typename V::F (&out)[C]) {
  using F = typename V::F;
  constexpr int W = V::width;
  F acc[S][C];
#pragma GCC unroll 8
  for (int s = 0; s < S; ++s)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) acc[s][c] = s == 0 && init ? V::load(init + c * W) : V::zero();
  const int32_t per_stream = (end - begin) / S;
  auto accumulate = [&](F(&a)[C], int32_t b) {
    const float* x = xt + static_cast<int64_t>(index[b]) * B * ldxt;
    const float* w = values + static_cast<int64_t>(b) * B;
#pragma GCC unroll 4
    for (int e = 0; e < B; ++e) {
      const F wv = V::set1(w[e]);
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) a[c] = V::fmadd(V::load(x + e * ldxt + c * W), wv, a[c]);
    }
  };
  for (int32_t j = 0; j < per_stream; ++j)
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) accumulate(acc[s], begin + s * per_stream + j);
  for (int32_t b = begin + S * per_stream; b < end; ++b) accumulate(acc[0], b);
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) {
    out[c] = acc[0][c];
#pragma GCC unroll 8
    for (int s = 1; s < S; ++s) out[c] = V::add(out[c], acc[s][c]);
  }
}

// Sums one row's int8 blocks [begin, end) into out[0..C), from init as above (exact, so the
// streams change nothing). A block is D::entry_words words: its weights, then the offset of its
// activation row (premultiplied at packing: rows are always ldxt = spmm_max_tokens words).
template <class V, class D, int C, int S>
inline void u8s8_spmm_row(const int32_t* xt, int64_t ldxt, const int32_t* blocks, int32_t begin,
                          int32_t end, const int32_t* init, typename V::I (&out)[C]) {
  using I = typename V::I;
  constexpr int W = V::width;
  I acc[S][C];
#pragma GCC unroll 8
  for (int s = 0; s < S; ++s)
#pragma GCC unroll 8
    for (int c = 0; c < C; ++c) acc[s][c] = s == 0 && init ? V::load_i(init + c * W) : V::zero_i();
  const int32_t per_stream = (end - begin) / S;
  for (int32_t j = 0; j < per_stream; ++j)
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s)
      D::template block<C>(
          acc[s], xt, ldxt,
          blocks + static_cast<int64_t>(begin + s * per_stream + j) * D::entry_words);
  for (int32_t b = begin + S * per_stream; b < end; ++b)
    D::template block<C>(acc[0], xt, ldxt, blocks + static_cast<int64_t>(b) * D::entry_words);
#pragma GCC unroll 8
  for (int c = 0; c < C; ++c) {
    out[c] = acc[0][c];
#pragma GCC unroll 8
    for (int s = 1; s < S; ++s) out[c] = V::add_i(out[c], acc[s][c]);
  }
}

// Transposes tile[r][token] (r < W, token vectors c < C) and hands each token vector's row
// vectors to out(first_token, vectors, valid_tokens): raw sums of a W-row group become output
// rows (one lane per output column), where the epilogue runs exactly as in the dense tile. Works
// on raw bits, so int32 sums go through it too.
template <class V, int C, typename Out>
inline void spmm_transpose_out(const float (&tile)[V::width][C * V::width], int tokens, Out&& out) {
  using F = typename V::F;
  constexpr int W = V::width;
  for (int c = 0; c < C; ++c) {
    const int valid = tokens - c * W < W ? tokens - c * W : W;
    if (valid <= 0) break;
    F v[W];
#pragma GCC unroll 16
    for (int r = 0; r < W; ++r) v[r] = V::load(tile[r] + c * W);
    V::transpose(v);
    out(c * W, v, valid);
  }
}

// activate() on v[0..n) with the activation a compile-time constant.
template <class V, Activation A>
inline void activate_each(typename V::F* v, int n) {
  for (int i = 0; i < n; ++i) v[i] = activate<V>(A, v[i]);
}

// activate() on v[0..n), choosing the activation once rather than once per vector.
template <class V>
inline void activate_all(Activation activation, typename V::F* v, int n) {
  switch (activation) {
    case Activation::none:
      return;
    case Activation::gelu_erf:
      return activate_each<V, Activation::gelu_erf>(v, n);
    case Activation::gelu_tanh:
      return activate_each<V, Activation::gelu_tanh>(v, n);
    case Activation::relu:
      return activate_each<V, Activation::relu>(v, n);
    case Activation::tanh:
      return activate_each<V, Activation::tanh>(v, n);
  }
}

// v[i] += the residual's row token0 + i, columns [r0, r0 + rows).
template <class V>
inline void add_residual(const float* residual, int64_t ldr, int token0, int r0, int rows,
                         typename V::F* v, int n) {
  for (int i = 0; i < n; ++i)
    v[i] = V::add(v[i], V::load_partial(residual + (token0 + i) * ldr + r0, rows, 0.0f));
}

// v[i] into output row token0 + i, columns [r0, r0 + rows).
template <class V>
inline void store_outputs(float* c, int64_t ldc, int token0, int r0, int rows,
                          const typename V::F* v, int n) {
  for (int i = 0; i < n; ++i) V::store_partial(c + (token0 + i) * ldc + r0, v[i], rows);
}

// One pass (see SpmmTileArgs) over the rows: sums(r, acc) adds row r's blocks of the pass to its
// partial sums (kept in registers, stored in `partial` between passes). The last pass stores a
// W-row group's sums into a tile, calls group(r0, valid_rows) to load the group's per-column
// epilogue terms, transposes the tile and calls finish(first_token, sums_vectors, tokens) for
// each token vector, so that each epilogue option is tested once per W tokens rather than once
// per token (int8 90 % block4 BERT-base, seq 128: 6.94 -> 6.78 ms).
// Deferring the epilogue keeps each row's work a short chain of independent loads and dot products,
// so consecutive rows overlap in the out-of-order window.
template <class V, int C, typename Acc, typename Sums, typename Store, typename Group,
          typename Finish>
inline void spmm_pass(const SpmmTileArgs& t, Sums&& sums, Store&& store, Group&& group,
                      Finish&& finish) {
  constexpr int W = V::width;
  if (!t.finish) {
    for (int r = 0; r < t.rows; ++r) {
      Acc acc[C];
      sums(r, acc);
      for (int c = 0; c < C; ++c)
        store(static_cast<char*>(t.partial) + (r * t.ldp + c * W) * 4, acc[c]);
    }
    return;
  }
  alignas(64) float tile[W][C * W];
  for (int r0 = 0; r0 < t.rows; r0 += W) {
    const int rows = t.rows - r0 < W ? t.rows - r0 : W;
    for (int r = 0; r < W; ++r) {
      if (r >= rows) {
        for (int c = 0; c < C; ++c) V::store(tile[r] + c * W, V::zero());
        continue;
      }
      Acc acc[C];
      sums(r0 + r, acc);
      for (int c = 0; c < C; ++c) store(tile[r] + c * W, acc[c]);
    }
    group(r0, rows);
    spmm_transpose_out<V, C>(tile, t.tokens, finish);
  }
}

// A pass reads one short piece of every row's weights, a stride the hardware prefetchers do not
// run far enough ahead on to hide DRAM latency (a model's weights rarely fit in cache), so the
// tiles fetch the piece kPrefetchRows rows ahead themselves: the same number of lines for every
// row (SpmmTileArgs::prefetch_blocks), as a loop over each piece's exact lines ends in one more
// exit per row that the branch predictor cannot foresee (bench/spmm_bench --copies 16, one
// thread, 128 tokens, four lines per row: fp32 80 % 3072x768 1.43 -> 1.33 ms, block4 1.45 ->
// 1.31 ms; int8 unchanged; too few lines for long passes doubled BERT-base's time at seq 16).
// Prefetches past the end of a buffer do not fault.
constexpr int kPrefetchRows = 4;

// Lines that hold `bytes` from an address that need not be line-aligned.
inline int prefetch_line_count(int64_t bytes) {
  return static_cast<int>((bytes + 63) / 64) + 1;
}

inline void prefetch_lines(const void* begin, int lines) {
  const auto* p = static_cast<const char*>(begin);
  for (int i = 0; i < lines; ++i) __builtin_prefetch(p + 64 * i, 0, 1);
}

// The first block of row r's pass, for prefetching.
inline int32_t pass_first_block(const SpmmTileArgs& t, int r) {
  return t.chunk_start[r * t.chunk_stride + t.first_chunk];
}

template <class V, int C, int S>
void f32_spmm_tile_c(const SpmmTileArgs& t) {
  using F = typename V::F;
  const GemmEpilogue& ep = *t.epilogue;
  const auto* xt = static_cast<const float*>(t.xt);
  const auto* values = static_cast<const float*>(t.values);
  auto* partial = static_cast<float*>(t.partial);
  const int value_lines = prefetch_line_count(int64_t{t.prefetch_blocks} * t.block * 4);
  const int index_lines = prefetch_line_count(int64_t{t.prefetch_blocks} * 2);
  auto sums = [&](int r, F(&acc)[C]) {
    if (r + kPrefetchRows < t.rows) {
      const int32_t b = pass_first_block(t, r + kPrefetchRows);
      prefetch_lines(values + static_cast<int64_t>(b) * t.block, value_lines);
      prefetch_lines(t.index + b, index_lines);
    }
    const int32_t* chunks = t.chunk_start + r * t.chunk_stride;
    const float* init = t.accumulate ? partial + r * t.ldp : nullptr;
    if (t.block == 4)
      f32_spmm_row<V, 4, C, S>(xt, t.ldxt, t.index, values, chunks[t.first_chunk],
                               chunks[t.end_chunk], init, acc);
    else
      f32_spmm_row<V, 1, C, S>(xt, t.ldxt, t.index, values, chunks[t.first_chunk],
                               chunks[t.end_chunk], init, acc);
  };
  auto store = [](void* p, F v) { V::store(static_cast<float*>(p), v); };
  // the dense tile's epilogue on a row of outputs: activation(acc + bias) + residual
  F bias = V::zero();
  int r0 = 0, rows = 0;
  auto group = [&](int first_row, int valid_rows) {
    r0 = first_row;
    rows = valid_rows;
    bias = ep.bias ? V::load_partial(ep.bias + r0, rows, 0.0f) : V::zero();
  };
  auto finish = [&](int token0, F* v, int n) {
    for (int i = 0; i < n; ++i) v[i] = V::add(v[i], bias);
    activate_all<V>(ep.activation, v, n);
    if (ep.residual) add_residual<V>(ep.residual, ep.ldr, token0, r0, rows, v, n);
    store_outputs<V>(t.c, t.ldc, token0, r0, rows, v, n);
  };
  spmm_pass<V, C, F>(t, sums, store, group, finish);
}

template <class V, class D, int C, int S>
void u8s8_spmm_tile_c(const SpmmTileArgs& t) {
  using F = typename V::F;
  using I = typename V::I;
  const QGemmEpilogue& ep = *t.qepilogue;
  const auto* xt = static_cast<const int32_t*>(t.xt);
  const auto* values = static_cast<const int32_t*>(t.values);
  auto* partial = static_cast<int32_t*>(t.partial);
  const int entry_lines = prefetch_line_count(int64_t{t.prefetch_blocks} * D::entry_words * 4);
  auto sums = [&](int r, I(&acc)[C]) {
    if (r + kPrefetchRows < t.rows)
      prefetch_lines(
          values + static_cast<int64_t>(pass_first_block(t, r + kPrefetchRows)) * D::entry_words,
          entry_lines);
    const int32_t* chunks = t.chunk_start + r * t.chunk_stride;
    u8s8_spmm_row<V, D, C, S>(xt, t.ldxt, values, chunks[t.first_chunk], chunks[t.end_chunk],
                              t.accumulate ? partial + r * t.ldp : nullptr, acc);
  };
  auto store = [](void* p, I v) { V::store_i(static_cast<int32_t*>(p), v); };
  // the dense tile's dequantization on a row of outputs, in its order
  I column_sums = V::zero_i();
  F b_scale = V::zero(), bias = V::zero(), rq_column_scale = V::zero();
  const Requantize& rq = ep.requantize;
  // loaded once: the u8 stores may alias anything, so the compiler could reload them per token
  const U8Quantizer<V> requantize(rq.inv_scale, rq.zero_point);
  int r0 = 0, rows = 0;
  auto group = [&](int first_row, int valid_rows) {
    r0 = first_row;
    rows = valid_rows;
    if (ep.raw) return;
    if (rq.column_scale) rq_column_scale = V::load_partial(rq.column_scale + r0, rows, 0.0f);
    column_sums = V::load_i_partial(ep.column_sums + r0, rows);
    b_scale =
        ep.per_channel ? V::load_partial(ep.b_scale + r0, rows, 0.0f) : V::set1(ep.b_scale[0]);
    bias = ep.bias ? V::load_partial(ep.bias + r0, rows, 0.0f) : V::zero();
  };
  auto finish = [&](int token0, F* v, int n) {
    if (ep.raw) {
      for (int i = 0; i < n; ++i)
        V::store_i_partial(t.c_raw + (token0 + i) * t.ldc + r0, V::cast_f_i(v[i]), rows);
      return;
    }
    for (int i = 0; i < n; ++i) {
      const int64_t token = token0 + i;
      const I adjusted = V::sub_i(
          V::cast_f_i(v[i]),
          V::mullo_i(V::set1_i(ep.a_zero_point[token * ep.a_zero_point_stride]), column_sums));
      const F scale = V::mul(b_scale, V::set1(ep.a_scale[token * ep.a_scale_stride]));
      v[i] = V::fmadd(V::cvt_i_f(adjusted), scale, bias);
    }
    activate_all<V>(ep.activation, v, n);
    if (ep.residual) add_residual<V>(ep.residual, ep.ldr, token0, r0, rows, v, n);
    if (rq.q) {
      for (int i = 0; i < n; ++i) {
        const F scaled = rq.column_scale ? V::mul(v[i], rq_column_scale) : v[i];
        V::store_u8(rq.q + (token0 + i) * rq.ldq + r0, V::pack_u8_low(requantize(scaled)), rows);
      }
      return;
    }
    store_outputs<V>(t.c, t.ldc, token0, r0, rows, v, n);
  };
  spmm_pass<V, C, I>(t, sums, store, group, finish);
}

// The tile for the token count: the fewest token vectors (a power of two) that cover it.
template <class V>
void f32_spmm_tile(const SpmmTileArgs& t) {
  const int vectors = (t.tokens + V::width - 1) / V::width;
  if (vectors <= 1) return f32_spmm_tile_c<V, 1, 8>(t);
  if (vectors <= 2) return f32_spmm_tile_c<V, 2, 4>(t);
  if (vectors <= 4) return f32_spmm_tile_c<V, 4, 2>(t);
  return f32_spmm_tile_c<V, 8, 1>(t);
}

template <class V, class D>
void u8s8_spmm_tile(const SpmmTileArgs& t) {
  const int vectors = (t.tokens + V::width - 1) / V::width;
  if (vectors <= 1) return u8s8_spmm_tile_c<V, D, 1, 8>(t);
  if (vectors <= 2) return u8s8_spmm_tile_c<V, D, 2, 4>(t);
  if (vectors <= 4) return u8s8_spmm_tile_c<V, D, 4, 2>(t);
  return u8s8_spmm_tile_c<V, D, 8, 1>(t);
}

// dst[c * ldd + r] = src[r * lds + c], W x W blocks in registers, the edges element by element.
template <class V>
void transpose_32(const uint32_t* src, int64_t lds, int64_t rows, int64_t cols, uint32_t* dst,
                  int64_t ldd) {
  using F = typename V::F;
  constexpr int W = V::width;
  const int64_t full_rows = rows / W * W, full_cols = cols / W * W;
  for (int64_t r0 = 0; r0 < full_rows; r0 += W)
    for (int64_t c0 = 0; c0 < full_cols; c0 += W) {
      F v[W];
#pragma GCC unroll 16
      for (int i = 0; i < W; ++i)
        v[i] = V::load(reinterpret_cast<const float*>(src + (r0 + i) * lds + c0));
      V::transpose(v);
#pragma GCC unroll 16
      for (int i = 0; i < W; ++i)
        V::store(reinterpret_cast<float*>(dst + (c0 + i) * ldd + r0), v[i]);
    }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = r < full_rows ? full_cols : 0; c < cols; ++c)
      dst[c * ldd + r] = src[r * lds + c];
}

// Transposed int8 activations in u16 pairs (spmm_kgroup 2): word p of token t is
// q[t][2p] | q[t][2p + 1] << 16, W tokens x W words per register transpose.
template <class V>
void transpose_u8_pairs(const uint8_t* q, int64_t ldq, int64_t tokens, int64_t k, uint32_t* xt,
                        int64_t ldxt) {
  using F = typename V::F;
  constexpr int W = V::width;
  const int64_t words = k / 2;
  const int64_t full_tokens = tokens / W * W, full_words = words / W * W;
  for (int64_t t0 = 0; t0 < full_tokens; t0 += W)
    for (int64_t p0 = 0; p0 < full_words; p0 += W) {
      F v[W];
#pragma GCC unroll 16
      for (int i = 0; i < W; ++i) v[i] = V::widen_u8_pairs(q + (t0 + i) * ldq + 2 * p0);
      V::transpose(v);
#pragma GCC unroll 16
      for (int i = 0; i < W; ++i)
        V::store(reinterpret_cast<float*>(xt + (p0 + i) * ldxt + t0), v[i]);
    }
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t p = t < full_tokens ? full_words : 0; p < words; ++p)
      xt[p * ldxt + t] = static_cast<uint32_t>(q[t * ldq + 2 * p]) |
                         static_cast<uint32_t>(q[t * ldq + 2 * p + 1]) << 16;
}

}  // namespace sparq::kernels::simd
