#include "model/bert_forward.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "kernels/gemm.h"
#include "kernels/qgemm.h"

namespace sparq::model {
namespace {

using kernels::Activation;

Tensor make_tensor(std::vector<int64_t> shape) {
  Tensor t;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  t.shape = std::move(shape);
  t.data.resize(static_cast<size_t>(n));
  return t;
}

Tensor copy_tensor(const float* data, std::vector<int64_t> shape) {
  Tensor t = make_tensor(std::move(shape));
  std::memcpy(t.data.data(), data, t.data.size() * sizeof(float));
  return t;
}

// pool null: on the calling thread
void layer_norm_rows(const kernels::KernelTable& kt, const LayerNorm& norm, float eps,
                     const float* x, float* y, int64_t rows, int64_t width,
                     core::ThreadPool* pool) {
  auto body = [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r)
      kt.f32_layernorm(x + r * width, norm.gamma.data(), norm.beta.data(), eps, y + r * width,
                       width);
  };
  if (pool)
    pool->parallel_for(rows, body);
  else
    body(0, rows, 0);
}

// word + token type + position embeddings, then LayerNorm, into ws.hidden.
void embed(const BertModel& m, const EncoderInput& in, Workspace& ws, core::ThreadPool& pool) {
  const int64_t H = m.config.hidden_size;
  const int64_t tokens = in.batch * in.seq;
  const kernels::KernelTable& kt = *m.kernels;
  pool.parallel_for(tokens, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      const float* word = m.word_embeddings.data + static_cast<int64_t>(in.input_ids[t]) * H;
      const int64_t type = in.token_type_ids.empty() ? 0 : in.token_type_ids[t];
      const float* token_type = m.token_type_embeddings.data + type * H;
      const float* position = m.position_embeddings.data + (t % in.seq) * H;
      float* out = ws.hidden.data() + t * H;
      // (word + token_type) + position, in the reference's order of additions
      for (int64_t j = 0; j < H; ++j) out[j] = (word[j] + token_type[j]) + position[j];
      kt.f32_layernorm(out, m.embedding_norm.gamma.data(), m.embedding_norm.beta.data(),
                       m.config.layer_norm_eps, out, H);
    }
  });
}

// Query rows per block of attention scores: a block's scores ([rows, seq] floats) stay in the L1/L2
// cache between the two products instead of a whole [seq, seq] matrix going out to L2 or memory
// at long sequences. A multiple of every ISA's GEMM tile height.
constexpr int64_t kAttentionRowBlock = 48;

// One (sequence, head) of attention: its queries, keys and values, rows 3 * hidden apart in
// ws.qkv, its keys' additive mask, and its context, rows hidden apart in ws.context.
struct Head {
  const float* q;
  const float* k;
  const float* v;
  const float* mask;
  float* context;
};

// Calls run(scratch, head) for every (sequence, head), shared out among the pool's members one
// head at a time, each with its own scratch: a member the host slows down takes fewer heads
// instead of keeping the others waiting (12 heads a layer at batch 1). Heads are independent,
// so the result does not depend on who runs which.
template <typename Run>
void for_each_head(const BertModel& m, int64_t batch, int64_t seq, Workspace& ws,
                   core::ThreadPool& pool, Run&& run) {
  const int64_t H = m.config.hidden_size;
  const int64_t heads = m.config.num_attention_heads;
  const int64_t d = m.config.head_dim();
  pool.parallel_for_dynamic(batch * heads, 1, [&](int64_t begin, int64_t end, int member) {
    Workspace::AttentionScratch& s = ws.attention[static_cast<size_t>(member)];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / heads, h = task % heads;
      const float* q = ws.qkv.data() + b * seq * 3 * H + h * d;
      run(s, Head{q, q + H, q + 2 * H, ws.mask_bias.data() + b * seq,
                  ws.context.data() + b * seq * H + h * d});
    }
  });
}

float score_scale(const ModelConfig& c) {
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.head_dim())));
}

// softmax(Q K^T / sqrt(d) + mask) V for every (sequence, head), from ws.qkv into ws.context.
void attention(const BertModel& m, int64_t batch, int64_t seq, Workspace& ws,
               core::ThreadPool& pool) {
  const kernels::KernelTable& kt = *m.kernels;
  const int64_t H = m.config.hidden_size;
  const int64_t d = m.config.head_dim();
  const int nr = kt.gemm_nr;
  const float scale = score_scale(m.config);
  const kernels::GemmEpilogue plain;
  for_each_head(m, batch, seq, ws, pool, [&](Workspace::AttentionScratch& s, const Head& head) {
    kernels::pack_b_transposed(head.k, 3 * H, seq, d, nr, s.packed_k.data());
    kernels::pack_b(head.v, 3 * H, seq, d, nr, s.packed_v.data());
    for (int64_t r0 = 0; r0 < seq; r0 += kAttentionRowBlock) {
      const int64_t rows = std::min(kAttentionRowBlock, seq - r0);
      kernels::gemm_f32(kt, rows, seq, d, head.q + r0 * 3 * H, 3 * H, s.packed_k.data(),
                        s.scores.data(), seq, plain, nullptr);
      for (int64_t i = 0; i < rows; ++i)
        kt.f32_softmax(s.scores.data() + i * seq, seq, scale, head.mask);
      kernels::gemm_f32(kt, rows, d, seq, s.scores.data(), seq, s.packed_v.data(),
                        head.context + r0 * H, H, plain, nullptr);
    }
  });
}

// Tokens per thread below which the operations are shared out among the threads one by one
// instead (see token_share_granule).
constexpr int64_t kTokenParallelMinTokens = 32;

constexpr int32_t kQueryZeroPoint = 128;
constexpr int32_t kProbabilityZeroPoint = 0;  // probabilities are never negative

// attention() with both products in INT8, for BertModel::int8_attention. Per (sequence, head):
// keys become s8 per key and values s8 per channel (symmetric, packed as B operands), queries u8
// per row (symmetric around zero point 128), and the softmax writes each row of probabilities
// straight to u8 with its own scale; each product's int32 sums are dequantized in the GEMM
// epilogue. 1/sqrt(d) is folded into the keys' scales.
void attention_int8(const BertModel& m, int64_t batch, int64_t seq, Workspace& ws,
                    core::ThreadPool& pool) {
  const kernels::KernelTable& kt = *m.kernels;
  const int64_t H = m.config.hidden_size;
  const int64_t d = m.config.head_dim();
  const int64_t dp = kernels::padded_k(d, kt.qgemm_kgroup);
  const int64_t sp = kernels::padded_k(seq, kt.qgemm_kgroup);
  const float scale = score_scale(m.config);
  for_each_head(m, batch, seq, ws, pool, [&](Workspace::AttentionScratch& s, const Head& head) {
    kernels::quantize_rows_symmetric(kt, head.k, 3 * H, seq, d, 0, s.s8_rows.data(), dp,
                                     s.keys.scales.data(), s.keys.sums.data());
    kernels::pack_qb_rows(kt, reinterpret_cast<const int8_t*>(s.s8_rows.data()), dp, seq, d,
                          s.keys.packed.data());
    for (int64_t j = 0; j < seq; ++j) s.keys.scales[static_cast<size_t>(j)] *= scale;

    // each channel of the values one row, so that its scale is a row's
    kt.transpose_32(reinterpret_cast<const uint32_t*>(head.v), 3 * H, seq, d,
                    reinterpret_cast<uint32_t*>(s.values_t.data()), seq);
    kernels::quantize_rows_symmetric(kt, s.values_t.data(), seq, d, seq, 0, s.s8_rows.data(), sp,
                                     s.values.scales.data(), s.values.sums.data());
    kernels::pack_qb_rows(kt, reinterpret_cast<const int8_t*>(s.s8_rows.data()), sp, d, seq,
                          s.values.packed.data());

    kernels::quantize_rows_symmetric(kt, head.q, 3 * H, seq, d, kQueryZeroPoint,
                                     s.queries.values.data(), dp, s.queries.scales.data(), nullptr);
    for (int64_t r0 = 0; r0 < seq; r0 += kAttentionRowBlock) {
      const int64_t rows = std::min(kAttentionRowBlock, seq - r0);
      kernels::QGemmEpilogue scores;
      scores.column_sums = s.keys.sums.data();
      scores.b_scale = s.keys.scales.data();
      scores.a_scale = s.queries.scales.data() + r0;
      scores.a_scale_stride = 1;
      scores.a_zero_point = &kQueryZeroPoint;
      kernels::qgemm(kt, rows, seq, d, s.queries.values.data() + r0 * dp, dp, s.keys.packed.data(),
                     scores, s.scores.data(), nullptr, seq, nullptr);
      for (int64_t i = 0; i < rows; ++i) {
        uint8_t* p = s.probabilities.values.data() + i * sp;
        s.probabilities.scales[static_cast<size_t>(i)] =
            kt.u8_softmax(s.scores.data() + i * seq, seq, 1.0f, head.mask, p);
        std::memset(p + seq, 0, static_cast<size_t>(sp - seq));
      }
      kernels::QGemmEpilogue context;
      context.column_sums = s.values.sums.data();
      context.b_scale = s.values.scales.data();
      context.a_scale = s.probabilities.scales.data();
      context.a_scale_stride = 1;
      context.a_zero_point = &kProbabilityZeroPoint;
      kernels::qgemm(kt, rows, d, seq, s.probabilities.values.data(), sp, s.values.packed.data(),
                     context, head.context + r0 * H, nullptr, H, nullptr);
    }
  });
}

// Times the operations of a forward pass when profiling is on.
class Timer {
 public:
  explicit Timer(OperationProfile* profile) : profile_(profile) {
    if (profile_) last_ = std::chrono::steady_clock::now();
  }
  void lap(const char* operation) {
    if (!profile_) return;
    const auto now = std::chrono::steady_clock::now();
    profile_->add(operation, std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }

 private:
  OperationProfile* profile_;
  std::chrono::steady_clock::time_point last_;
};

// Where one layer's token-local operations read and write: everything but attention works on
// each token alone, so it can run on any range of tokens [t0, t1) with its own scratch, on the
// pool's threads (pool set) or on the calling thread alone (pool null).
struct TokenRange {
  int64_t t0;
  int64_t t1;
  LinearScratch& scratch;
  QuantizedRows& ffn_quantized;
  core::ThreadPool* pool;
  int64_t rows() const { return t1 - t0; }
};

// Hands a Linear layer's whole input (all T tokens) to the calibration observer, if any: while
// one observes, the steps run on all tokens at once (see token_share_granule).
void observe_input(const RunOptions& options, int64_t layer, LinearSlot slot, const float* x,
                   int64_t T, int64_t cols, const int32_t* mask) {
  if (options.observe_linear_inputs)
    options.observe_linear_inputs({layer, static_cast<int>(slot), x, T, cols, cols, mask});
}

void query_key_value(const BertModel& m, const EncoderLayer& layer, int64_t l,
                     const RunOptions& options, const int32_t* mask, int64_t T, Workspace& ws,
                     const TokenRange& r) {
  const int64_t H = m.config.hidden_size;
  observe_input(options, l, LinearSlot::qkv, ws.hidden.data(), T, H, mask);
  layer.qkv.forward(*m.kernels, ws.hidden.data() + r.t0 * H, r.rows(), H,
                    ws.qkv.data() + r.t0 * 3 * H, 3 * H, Activation::none, nullptr, 0, r.scratch,
                    r.pool);
}

// Attention output + residual, LayerNorm, intermediate + activation, output + residual, LayerNorm.
void after_attention(const BertModel& m, const EncoderLayer& layer, int64_t l,
                     const RunOptions& options, const int32_t* mask, int64_t T, Workspace& ws,
                     const TokenRange& r, Timer& timer) {
  const kernels::KernelTable& kt = *m.kernels;
  const int64_t H = m.config.hidden_size, I = m.config.intermediate_size;
  const float eps = m.config.layer_norm_eps;
  const int64_t t0 = r.t0, n = r.rows();
  float* hidden = ws.hidden.data() + t0 * H;
  float* residual = ws.residual.data() + t0 * H;
  observe_input(options, l, LinearSlot::attention_output, ws.context.data(), T, H, mask);
  layer.attention_output.forward(kt, ws.context.data() + t0 * H, n, H, residual, H,
                                 Activation::none, hidden, H, r.scratch, r.pool);
  timer.lap("attention output");
  layer_norm_rows(kt, layer.attention_norm, eps, residual, hidden, n, H, r.pool);
  timer.lap("layer norm");
  observe_input(options, l, LinearSlot::intermediate, ws.hidden.data(), T, H, mask);
  if (layer.intermediate.requantizes_for(layer.output) && !options.observe_linear_inputs) {
    layer.intermediate.forward_requantized(kt, hidden, n, H, m.hidden_activation, layer.output,
                                           r.ffn_quantized, r.scratch, r.pool);
    timer.lap("intermediate + activation");
    layer.output.forward_quantized(kt, r.ffn_quantized, n, residual, H, Activation::none, hidden, H,
                                   r.scratch, r.pool);
  } else {
    float* ffn = ws.ffn.data() + t0 * I;
    layer.intermediate.forward(kt, hidden, n, H, ffn, I, m.hidden_activation, nullptr, 0, r.scratch,
                               r.pool);
    timer.lap("intermediate + activation");
    observe_input(options, l, LinearSlot::output, ws.ffn.data(), T, I, mask);
    layer.output.forward(kt, ffn, n, I, residual, H, Activation::none, hidden, H, r.scratch,
                         r.pool);
  }
  timer.lap("output");
  layer_norm_rows(kt, layer.output_norm, eps, residual, hidden, n, H, r.pool);
  timer.lap("layer norm");
}

// The granule of each thread's share of the tokens when each runs the token-local operations on
// its own tokens (see TokenRange), or 0 where the operations are better shared out one by one.
//
// Sharing tokens instead of each operation's output rows means no wait for the slowest thread
// after every one of a layer's ~15 steps, no step too small to share out (the transposes and
// quantizations of a 128-token input ran on one thread) and activations that stay in their
// thread's cache, but every thread reads every weight. That pays for INT8 sparse layers (about
// two bytes per nonzero weight): 90 % block4 BERT-base, 2 threads, interleaved rounds, seq 128
// 15.40 -> 13.19 ms, batch 8 150.3 -> 128.3 ms. fp32 sparse weights take six bytes per nonzero,
// and the same split made fp32 80 % unstructured slower (batch 8: 498 -> 543 ms; seq 128, where
// each thread had half a tile: 12 %), so fp32 and dense layers keep the shared steps. Calibration
// observes whole inputs, so it does too. int8 sums are exact, so the result does not depend on
// the split.
int64_t token_share_granule(const BertModel& m, int64_t tokens, const core::ThreadPool& pool,
                            const RunOptions& options) {
  if (pool.size() < 2 || options.observe_linear_inputs) return 0;
  if (tokens < kTokenParallelMinTokens * pool.size()) return 0;
  for (const EncoderLayer& layer : m.layers)
    for (const Linear* linear :
         {&layer.qkv, &layer.attention_output, &layer.intermediate, &layer.output})
      if (!linear->sparse || !linear->int8) return 0;
  return m.kernels->spmm_token_vector;
}

// Member `member` of `parts`'s share of the tokens, in whole granules.
std::pair<int64_t, int64_t> token_share(int64_t tokens, int64_t granule, int member, int parts) {
  const int64_t units = (tokens + granule - 1) / granule;
  return {std::min(tokens, units * member / parts * granule),
          std::min(tokens, units * (member + 1) / parts * granule)};
}

}  // namespace

void Workspace::PackedInt8Operand::reserve(int64_t n, int64_t k,
                                           const kernels::KernelTable& table) {
  packed.reserve_at_least(kernels::packed_qb_bytes(n, k, table.qgemm_nr, table.qgemm_kgroup));
  sums.reserve_at_least(static_cast<size_t>(n));
  scales.reserve_at_least(static_cast<size_t>(n));
}

void QuantizedRows::reserve(int64_t rows, int64_t padded_cols) {
  values.reserve_at_least(static_cast<size_t>(rows * padded_cols));
  scales.reserve_at_least(static_cast<size_t>(rows));
  zero_points.reserve_at_least(static_cast<size_t>(rows));
}

void Linear::forward(const kernels::KernelTable& table, const float* x, int64_t rows, int64_t ldx,
                     float* y, int64_t ldy, Activation activation, const float* residual,
                     int64_t ldr, LinearScratch& scratch, core::ThreadPool* pool) const {
  if (!int8) {
    kernels::GemmEpilogue ep;
    ep.bias = bias.data();
    ep.activation = activation;
    ep.residual = residual;
    ep.ldr = ldr;
    if (sparse)
      sparse::spmm_f32(table, sparse_weight, x, ldx, rows, y, ldy, ep, scratch.spmm, pool);
    else
      kernels::gemm_f32(table, rows, out_features, in_features, x, ldx, packed_weight.data(), y,
                        ldy, ep, pool);
    return;
  }
  quantize_input(table, x, rows, ldx, scratch.input, pool);
  forward_int8(table, scratch.input, rows, y, ldy, activation, residual, ldr, {}, scratch, pool);
}

int64_t Linear::quantized_input_width(const kernels::KernelTable& table) const {
  // the sparse tiles read inputs in whole groups of 4
  return kernels::padded_k(in_features, sparse ? 4 : table.qgemm_kgroup);
}

void Linear::quantize_input(const kernels::KernelTable& table, const float* x, int64_t rows,
                            int64_t ldx, QuantizedRows& input, core::ThreadPool* pool) const {
  const int64_t kp = quantized_input_width(table);
  input.reserve(rows, kp);
  if (dynamic_input)
    kernels::quantize_rows_dynamic(table, x, ldx, rows, in_features, smoothing(),
                                   input.values.data(), kp, input.scales.data(),
                                   input.zero_points.data(), pool);
  else
    kernels::quantize_rows_static(table, x, ldx, rows, in_features, smoothing(),
                                  {input_scale, input_zero_point}, input.values.data(), kp, pool);
}

void Linear::forward_int8(const kernels::KernelTable& table, const QuantizedRows& input,
                          int64_t rows, float* y, int64_t ldy, Activation activation,
                          const float* residual, int64_t ldr, const kernels::Requantize& requantize,
                          LinearScratch& scratch, core::ThreadPool* pool) const {
  const int64_t kp = quantized_input_width(table);
  kernels::QGemmEpilogue ep;
  ep.column_sums = column_sums.data();
  ep.b_scale = weight_scales.data();
  ep.per_channel = per_channel;
  ep.bias = bias.data();
  ep.activation = activation;
  ep.residual = residual;
  ep.ldr = ldr;
  ep.requantize = requantize;
  if (dynamic_input) {
    ep.a_scale = input.scales.data();
    ep.a_zero_point = input.zero_points.data();
    ep.a_scale_stride = ep.a_zero_point_stride = 1;
  } else {
    ep.a_scale = &input_scale;
    ep.a_zero_point = &input_zero_point;
  }
  if (sparse)
    sparse::spmm_u8s8(table, sparse_weight, input.values.data(), kp, rows, ep, y, nullptr, ldy,
                      scratch.spmm, pool);
  else
    kernels::qgemm(table, rows, out_features, in_features, input.values.data(), kp,
                   packed_qweight.data(), ep, y, nullptr, ldy, pool);
}

bool Linear::requantizes_for(const Linear& next) const {
  return int8 && next.int8 && !next.dynamic_input && next.in_features == out_features;
}

void Linear::forward_requantized(const kernels::KernelTable& table, const float* x, int64_t rows,
                                 int64_t ldx, Activation activation, const Linear& next,
                                 QuantizedRows& next_input, LinearScratch& scratch,
                                 core::ThreadPool* pool) const {
  if (!requantizes_for(next))
    fail("Linear::forward_requantized: the next layer is not static INT8");
  const int64_t ldq = next.quantized_input_width(table);
  next_input.reserve(rows, ldq);
  kernels::Requantize rq;
  rq.q = next_input.values.data();
  rq.ldq = ldq;
  rq.column_scale = next.smoothing();
  rq.inv_scale = 1.0f / next.input_scale;  // as quantize_rows_static
  rq.zero_point = next.input_zero_point;
  quantize_input(table, x, rows, ldx, scratch.input, pool);
  forward_int8(table, scratch.input, rows, nullptr, 0, activation, nullptr, 0, rq, scratch, pool);
  if (ldq > out_features)
    for (int64_t r = 0; r < rows; ++r)
      std::memset(rq.q + r * ldq + out_features, 0, static_cast<size_t>(ldq - out_features));
}

void Linear::forward_quantized(const kernels::KernelTable& table, const QuantizedRows& input,
                               int64_t rows, float* y, int64_t ldy, Activation activation,
                               const float* residual, int64_t ldr, LinearScratch& scratch,
                               core::ThreadPool* pool) const {
  forward_int8(table, input, rows, y, ldy, activation, residual, ldr, {}, scratch, pool);
}

void Workspace::reserve(const BertModel& m, int64_t batch, int64_t seq, int threads) {
  const int64_t tokens = batch * seq;
  const int64_t H = m.config.hidden_size;
  const auto n = [](int64_t v) { return static_cast<size_t>(v); };
  hidden.reserve_at_least(n(tokens * H));
  qkv.reserve_at_least(n(tokens * 3 * H));
  context.reserve_at_least(n(tokens * H));
  residual.reserve_at_least(n(tokens * H));
  ffn.reserve_at_least(n(tokens * m.config.intermediate_size));
  mask_bias.reserve_at_least(n(tokens));
  pooled.reserve_at_least(n(batch * H));
  if (attention.size() < static_cast<size_t>(threads))
    attention.resize(static_cast<size_t>(threads));
  if (members.size() < static_cast<size_t>(threads)) members.resize(static_cast<size_t>(threads));
  const int nr = m.kernels->gemm_nr;
  const int64_t d = m.config.head_dim();
  const kernels::KernelTable& kt = *m.kernels;
  const int64_t block_rows = std::min(seq, kAttentionRowBlock);
  for (auto& s : attention) {
    s.scores.reserve_at_least(n(block_rows * seq));
    if (!m.int8_attention) {
      s.packed_k.reserve_at_least(kernels::packed_b_floats(seq, d, nr));
      s.packed_v.reserve_at_least(kernels::packed_b_floats(d, seq, nr));
      continue;
    }
    const int64_t dp = kernels::padded_k(d, kt.qgemm_kgroup);
    const int64_t sp = kernels::padded_k(seq, kt.qgemm_kgroup);
    s.queries.reserve(seq, dp);
    s.probabilities.reserve(block_rows, sp);
    s.values_t.reserve_at_least(n(d * seq));
    s.s8_rows.reserve_at_least(n(std::max(seq * dp, d * sp)));
    s.keys.reserve(seq, d, kt);
    s.values.reserve(d, seq, kt);
  }
}

void forward(const BertModel& m, const EncoderInput& in, const RunOptions& options, Workspace& ws,
             core::ThreadPool& pool, EncoderOutput& out) {
  Timer timer(options.profile);
  const kernels::KernelTable& kt = *m.kernels;
  const ModelConfig& c = m.config;
  const int64_t B = in.batch, S = in.seq, T = B * S;
  const int64_t H = c.hidden_size;
  ws.reserve(m, B, S, pool.size());

  // the additive mask of the reference: (1 - mask) * lowest float
  const float lowest = std::numeric_limits<float>::lowest();
  for (int64_t t = 0; t < T; ++t)
    ws.mask_bias[static_cast<size_t>(t)] =
        in.attention_mask.empty() || in.attention_mask[t] ? 0.0f : lowest;

  embed(m, in, ws, pool);
  if (options.all_hidden_states)
    out.hidden_states.push_back(copy_tensor(ws.hidden.data(), {B, S, H}));
  timer.lap("embeddings");

  const int32_t* mask = in.attention_mask.empty() ? nullptr : in.attention_mask.data();
  const auto layers = static_cast<int64_t>(m.layers.size());
  auto run_attention = [&] {
    if (m.int8_attention)
      attention_int8(m, B, S, ws, pool);
    else
      attention(m, B, S, ws, pool);
    timer.lap("attention");
  };
  auto copy_hidden = [&] {
    if (options.all_hidden_states)
      out.hidden_states.push_back(copy_tensor(ws.hidden.data(), {B, S, H}));
  };
  if (const int64_t granule = token_share_granule(m, T, pool, options)) {
    // per layer: the token-local steps after attention and the next layer's query/key/value on
    // each thread's tokens, then attention shared out by (sequence, head)
    Timer off(nullptr);
    auto on_tokens = [&](auto&& steps) {
      pool.run([&](int member) {
        const auto [t0, t1] = token_share(T, granule, member, pool.size());
        if (t0 >= t1) return;
        const TokenRange r{t0, t1, ws.members[static_cast<size_t>(member)].linear,
                           ws.members[static_cast<size_t>(member)].ffn_quantized, nullptr};
        steps(r, member == 0 ? timer : off);
      });
    };
    on_tokens([&](const TokenRange& r, Timer& t) {
      query_key_value(m, m.layers[0], 0, options, mask, T, ws, r);
      t.lap("query/key/value");
    });
    for (int64_t l = 0; l < layers; ++l) {
      run_attention();
      on_tokens([&](const TokenRange& r, Timer& t) {
        after_attention(m, m.layers[static_cast<size_t>(l)], l, options, mask, T, ws, r, t);
        if (l + 1 < layers) {
          query_key_value(m, m.layers[static_cast<size_t>(l + 1)], l + 1, options, mask, T, ws, r);
          t.lap("query/key/value");
        }
      });
      copy_hidden();
    }
  } else {
    const TokenRange all{0, T, ws.linear, ws.ffn_quantized, &pool};
    for (int64_t l = 0; l < layers; ++l) {
      const EncoderLayer& layer = m.layers[static_cast<size_t>(l)];
      query_key_value(m, layer, l, options, mask, T, ws, all);
      timer.lap("query/key/value");
      run_attention();
      after_attention(m, layer, l, options, mask, T, ws, all, timer);
      copy_hidden();
    }
  }

  LinearScratch& q = ws.linear;
  if (options.all_hidden_states) timer.lap("copies");
  const bool encoder_only = m.head == TaskHead::encoder;
  if (options.last_hidden_state || encoder_only)
    out.last_hidden_state = copy_tensor(ws.hidden.data(), {B, S, H});
  if (m.has_pooler) {
    // the pooler reads each sequence's first token: rows S * H apart
    m.pooler.forward(kt, ws.hidden.data(), B, S * H, ws.pooled.data(), H, Activation::tanh, nullptr,
                     0, q, &pool);
    if (encoder_only) out.pooler_output = copy_tensor(ws.pooled.data(), {B, H});
  }
  const int64_t labels = m.classifier.out_features;
  switch (m.head) {
    case TaskHead::encoder:
      break;
    case TaskHead::sequence_classification:
      out.logits = make_tensor({B, labels});
      m.classifier.forward(kt, ws.pooled.data(), B, H, out.logits.data.data(), labels,
                           Activation::none, nullptr, 0, q, &pool);
      break;
    case TaskHead::token_classification:
      out.logits = make_tensor({B, S, labels});
      m.classifier.forward(kt, ws.hidden.data(), T, H, out.logits.data.data(), labels,
                           Activation::none, nullptr, 0, q, &pool);
      break;
    case TaskHead::question_answering: {
      Tensor both = make_tensor({B, S, 2});
      m.classifier.forward(kt, ws.hidden.data(), T, H, both.data.data(), 2, Activation::none,
                           nullptr, 0, q, &pool);
      out.start_logits = make_tensor({B, S});
      out.end_logits = make_tensor({B, S});
      for (int64_t t = 0; t < T; ++t) {
        out.start_logits.data[static_cast<size_t>(t)] = both.data[static_cast<size_t>(2 * t)];
        out.end_logits.data[static_cast<size_t>(t)] = both.data[static_cast<size_t>(2 * t + 1)];
      }
      break;
    }
  }
  timer.lap("pooler + head");
}

}  // namespace sparq::model
