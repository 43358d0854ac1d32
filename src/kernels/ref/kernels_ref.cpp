// Portable scalar kernels: the reference every ISA is tested against, and a complete path that
// runs on any x86-64 CPU.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/ref/reference.h"
#include "kernels/tables.h"

namespace sparq::kernels {
namespace ref {

float activate(Activation activation, float x) {
  switch (activation) {
    case Activation::none:
      return x;
    case Activation::gelu_erf:
      return static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))));
    case Activation::gelu_tanh: {
      double u = std::sqrt(2.0 / M_PI) * (x + 0.044715 * static_cast<double>(x) * x * x);
      return static_cast<float>(0.5 * x * (1.0 + std::tanh(u)));
    }
    case Activation::relu:
      return x > 0.0f ? x : 0.0f;
    case Activation::tanh:
      return static_cast<float>(std::tanh(static_cast<double>(x)));
  }
  return x;
}

void gemm_reference(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* w,
                    int64_t ldw, const GemmEpilogue& ep, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(a[i * lda + p]) * w[j * ldw + p];
      float v = static_cast<float>(acc);
      if (ep.bias) v += ep.bias[j];
      v = activate(ep.activation, v);
      if (ep.residual) v += ep.residual[i * ep.ldr + j];
      c[i * ldc + j] = v;
    }
}

float dequantize(int32_t acc, int32_t zero_point, int32_t column_sum, float b_scale, float a_scale,
                 float bias, Activation activation, float residual) {
  const int32_t adjusted = acc - zero_point * column_sum;
  return activate(activation, std::fma(static_cast<float>(adjusted), b_scale * a_scale, bias)) +
         residual;
}

uint8_t quantize_u8(float x, float column_scale, float inv_scale, int32_t zero_point) {
  const float v = std::min(std::max(x * column_scale * inv_scale, -1073741824.0f), 1073741824.0f);
  const int32_t r = static_cast<int32_t>(std::nearbyint(v)) + zero_point;
  return static_cast<uint8_t>(r < 0 ? 0 : r > 255 ? 255 : r);
}

void write_output(const QGemmEpilogue& ep, int32_t acc, int32_t column_sum, int64_t row,
                  int64_t col, float* c, int64_t ldc) {
  const float v = dequantize(acc, ep.a_zero_point[row * ep.a_zero_point_stride], column_sum,
                             ep.per_channel ? ep.b_scale[col] : ep.b_scale[0],
                             ep.a_scale[row * ep.a_scale_stride], ep.bias ? ep.bias[col] : 0.0f,
                             ep.activation, ep.residual ? ep.residual[row * ep.ldr + col] : 0.0f);
  const Requantize& rq = ep.requantize;
  if (rq.q)
    rq.q[row * rq.ldq + col] =
        quantize_u8(v, rq.column_scale ? rq.column_scale[col] : 1.0f, rq.inv_scale, rq.zero_point);
  else
    c[row * ldc + col] = v;
}

void qgemm_reference(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda,
                     const int8_t* w, int64_t ldw, const QGemmEpilogue& ep, float* c,
                     int32_t* c_raw, int64_t ldc) {
  for (int64_t j = 0; j < n; ++j) {
    int32_t column_sum = 0;
    for (int64_t p = 0; p < k; ++p) column_sum += w[j * ldw + p];
    if (ep.column_sums) column_sum = ep.column_sums[j];
    for (int64_t i = 0; i < m; ++i) {
      int32_t acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<int32_t>(a[i * lda + p]) * w[j * ldw + p];
      if (ep.raw) {
        c_raw[i * ldc + j] = acc;
        continue;
      }
      write_output(ep, acc, column_sum, i, j, c, ldc);
    }
  }
}

void u8_quantize(const float* x, int64_t n, const float* column_scale, float inv_scale,
                 int32_t zero_point, uint8_t* q) {
  for (int64_t i = 0; i < n; ++i)
    q[i] = quantize_u8(x[i], column_scale ? column_scale[i] : 1.0f, inv_scale, zero_point);
}

float i8_quantize_symmetric(const float* x, int64_t n, int32_t offset, uint8_t* q, int32_t* sum) {
  float largest = 0.0f;
  for (int64_t i = 0; i < n; ++i) largest = std::max(largest, std::fabs(x[i]));
  const float scale = largest > 0.0f ? largest / 127.0f : 1.0f;
  const float inv = 1.0f / scale;
  int32_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto v = static_cast<int32_t>(std::nearbyint(x[i] * inv));
    total += v;
    q[i] = static_cast<uint8_t>((v + offset) & 255);
  }
  if (sum) *sum = total;
  return scale;
}

void i8_quantize_symmetric_rows(const float* x, int64_t ldx, int64_t m, int64_t n, int32_t offset,
                                uint8_t* q, int64_t ldq, float* scales, int32_t* sums) {
  for (int64_t r = 0; r < m; ++r) {
    uint8_t* row = q + r * ldq;
    scales[r] = i8_quantize_symmetric(x + r * ldx, n, offset, row, sums ? sums + r : nullptr);
    std::fill(row + n, row + ldq, uint8_t{0});
  }
}

void f32_minmax(const float* x, int64_t n, const float* column_scale, float* min, float* max) {
  *min = *max = column_scale ? x[0] * column_scale[0] : x[0];
  for (int64_t i = 1; i < n; ++i) {
    const float v = column_scale ? x[i] * column_scale[i] : x[i];
    *min = std::min(*min, v);
    *max = std::max(*max, v);
  }
}

void layernorm(const float* x, const float* gamma, const float* beta, float eps, float* y,
               int64_t n) {
  double mean = 0.0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  double var = 0.0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= static_cast<double>(n);
  double rstd = 1.0 / std::sqrt(var + eps);
  for (int64_t i = 0; i < n; ++i)
    y[i] = static_cast<float>((x[i] - mean) * rstd * gamma[i] + beta[i]);
}

namespace {

// row = row * scale + mask_bias in place; returns the largest value
float scale_mask_max(float* row, int64_t n, float scale, const float* mask_bias) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    row[i] = row[i] * scale + (mask_bias ? mask_bias[i] : 0.0f);
    max = row[i] > max ? row[i] : max;
  }
  return max;
}

}  // namespace

void softmax(float* row, int64_t n, float scale, const float* mask_bias) {
  const float max = scale_mask_max(row, n, scale, mask_bias);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    row[i] = static_cast<float>(std::exp(static_cast<double>(row[i]) - max));
    sum += row[i];
  }
  for (int64_t i = 0; i < n; ++i) row[i] = static_cast<float>(row[i] / sum);
}

float u8_softmax(float* row, int64_t n, float scale, const float* mask_bias, uint8_t* q) {
  const float max = scale_mask_max(row, n, scale, mask_bias);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double e = std::exp(static_cast<double>(row[i]) - max);
    sum += e;
    q[i] = static_cast<uint8_t>(std::nearbyint(255.0 * e));
  }
  return static_cast<float>(1.0 / (255.0 * sum));
}

}  // namespace ref

namespace {

constexpr int kMR = 4;
constexpr int kNR = 8;

// The packed-panel tile in plain loops, so the ref table runs the same GEMM driver as the others.
void f32_gemm_4x8__ref(const GemmTileArgs& t) {
  float acc[kMR][kNR] = {};
  for (int r = 0; r < t.mr; ++r)
    for (int j = 0; j < t.nr; ++j) acc[r][j] = t.accumulate ? t.c[r * t.ldc + j] : 0.0f;
  for (int64_t p = 0; p < t.k; ++p)
    for (int r = 0; r < t.mr; ++r)
      for (int j = 0; j < t.nr; ++j) acc[r][j] += t.a[r * t.lda + p] * t.b[p * kNR + j];
  for (int r = 0; r < t.mr; ++r)
    for (int j = 0; j < t.nr; ++j) {
      float v = acc[r][j];
      if (t.epilogue) {
        const GemmEpilogue& ep = *t.epilogue;
        v = ref::activate(ep.activation, v + (ep.bias ? ep.bias[j] : 0.0f));
        if (ep.residual) v += ep.residual[r * ep.ldr + j];
      }
      t.c[r * t.ldc + j] = v;
    }
}

constexpr int kQMR = 4;
constexpr int kQNR = 8;
constexpr int kQGroup = 4;

void u8s8_gemm_4x8c4__ref(const QGemmTileArgs& t) {
  int32_t acc[kQMR][kQNR] = {};
  for (int64_t k0 = 0; k0 < t.k; k0 += kQGroup)
    for (int r = 0; r < t.mr; ++r)
      for (int j = 0; j < t.nr; ++j)
        for (int g = 0; g < kQGroup; ++g)
          acc[r][j] += static_cast<int32_t>(t.a[r * t.lda + k0 + g]) *
                       t.b[(k0 / kQGroup) * kQNR * kQGroup + j * kQGroup + g];
  const QGemmEpilogue& ep = *t.epilogue;
  for (int r = 0; r < t.mr; ++r)
    for (int j = 0; j < t.nr; ++j) {
      if (ep.raw) {
        t.c_raw[r * t.ldc + j] = acc[r][j];
        continue;
      }
      ref::write_output(ep, acc[r][j], ep.column_sums[j], r, j, t.c, t.ldc);
    }
}

// Sparse tiles as plain loops over the same formats: every product in ascending k, like the
// dense tile above, so the two agree exactly.
constexpr int kSpmmRows = 8;
constexpr int kSpmmTokens = 64;

void f32_spmm_8x64__ref(const SpmmTileArgs& t) {
  const auto* xt = static_cast<const float*>(t.xt);
  const auto* values = static_cast<const float*>(t.values);
  auto* partial = static_cast<float*>(t.partial);
  const GemmEpilogue& ep = *t.epilogue;
  for (int r = 0; r < t.rows; ++r) {
    const int32_t* chunks = t.chunk_start + r * t.chunk_stride;
    for (int token = 0; token < t.tokens; ++token) {
      float acc = t.accumulate ? partial[r * t.ldp + token] : 0.0f;
      for (int32_t b = chunks[t.first_chunk]; b < chunks[t.end_chunk]; ++b)
        for (int e = 0; e < t.block; ++e)
          acc += xt[(static_cast<int64_t>(t.index[b]) * t.block + e) * t.ldxt + token] *
                 values[static_cast<int64_t>(b) * t.block + e];
      if (!t.finish) {
        partial[r * t.ldp + token] = acc;
        continue;
      }
      float v = ref::activate(ep.activation, acc + (ep.bias ? ep.bias[r] : 0.0f));
      if (ep.residual) v += ep.residual[token * ep.ldr + r];
      t.c[token * t.ldc + r] = v;
    }
  }
}

void u8s8_spmm_8x64c4__ref(const SpmmTileArgs& t) {
  const auto* xt = static_cast<const uint32_t*>(t.xt);
  const auto* values = static_cast<const int8_t*>(t.values);
  auto* partial = static_cast<int32_t*>(t.partial);
  const QGemmEpilogue& ep = *t.qepilogue;
  for (int r = 0; r < t.rows; ++r) {
    const int32_t* chunks = t.chunk_start + r * t.chunk_stride;
    for (int token = 0; token < t.tokens; ++token) {
      int32_t acc = t.accumulate ? partial[r * t.ldp + token] : 0;
      for (int32_t b = chunks[t.first_chunk]; b < chunks[t.end_chunk]; ++b) {
        // an entry: four s8 weights, then the offset of the block's activation row
        const int8_t* entry = values + static_cast<int64_t>(b) * 8;
        uint32_t offset;
        std::memcpy(&offset, entry + 4, 4);
        const uint32_t x = xt[offset + token];
        for (int e = 0; e < kQGroup; ++e)
          acc += static_cast<int32_t>((x >> (8 * e)) & 0xffu) * entry[e];
      }
      if (!t.finish) {
        partial[r * t.ldp + token] = acc;
      } else if (ep.raw) {
        t.c_raw[token * t.ldc + r] = acc;
      } else {
        ref::write_output(ep, acc, ep.column_sums[r], token, r, t.c, t.ldc);
      }
    }
  }
}

void transpose_32__ref(const uint32_t* src, int64_t lds, int64_t rows, int64_t cols, uint32_t* dst,
                       int64_t ldd) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * ldd + r] = src[r * lds + c];
}

void spmm_transpose_u8__ref(const uint8_t* q, int64_t ldq, int64_t tokens, int64_t k, uint32_t* xt,
                            int64_t ldxt) {
  for (int64_t token = 0; token < tokens; ++token)
    for (int64_t g = 0; g < k / 4; ++g) {
      uint32_t word;
      std::memcpy(&word, q + token * ldq + 4 * g, 4);
      xt[g * ldxt + token] = word;
    }
}

void f32_activation__ref(Activation act, float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = ref::activate(act, x[i]);
}

}  // namespace

const KernelTable& ref_table() {
  static const KernelTable table = {
      .isa = Isa::ref,
      .isa_name = "ref",
      .f32_gemm_name = "f32_gemm_4x8__ref",
      .gemm_mr = kMR,
      .gemm_nr = kNR,
      .gemm_kc = 1 << 30,
      .gemm_mc = 1 << 30,
      .f32_gemm_tile = f32_gemm_4x8__ref,
      .f32_layernorm_name = "f32_layernorm__ref",
      .f32_layernorm = ref::layernorm,
      .f32_softmax_name = "f32_softmax__ref",
      .f32_softmax = ref::softmax,
      .u8_softmax = ref::u8_softmax,
      .f32_activation = f32_activation__ref,
      .u8s8_gemm_name = "u8s8_gemm_4x8c4__ref",
      .qgemm_mr = kQMR,
      .qgemm_nr = kQNR,
      .qgemm_kgroup = kQGroup,
      .u8s8_gemm_tile = u8s8_gemm_4x8c4__ref,
      .f32_spmm_name = "f32_spmm_8x64__ref",
      .u8s8_spmm_name = "u8s8_spmm_8x64c4__ref",
      .spmm_rows = kSpmmRows,
      .spmm_token_vector = kSpmmRows,
      .spmm_max_tokens = kSpmmTokens,
      .spmm_row_words = kSpmmTokens + kSpmmRows,
      .spmm_chunk_rows = 64,
      .spmm_pass_bytes = 24 * 1024,
      .spmm_f32_min_pass_weights = 20.0f,
      .spmm_u8s8_min_pass_weights = 64.0f,
      .spmm_kgroup = kQGroup,
      .spmm_f32_cost_per_weight = 1.8f,
      .spmm_f32_block4_cost_per_weight = 1.75f,
      .spmm_u8s8_cost_per_weight = 1.9f,
      .spmm_cost_per_row = 0.15f,
      .f32_spmm_tile = f32_spmm_8x64__ref,
      .u8s8_spmm_tile = u8s8_spmm_8x64c4__ref,
      .transpose_32 = transpose_32__ref,
      .spmm_transpose_u8 = spmm_transpose_u8__ref,
      .u8_quantize = ref::u8_quantize,
      .i8_quantize_symmetric_rows = ref::i8_quantize_symmetric_rows,
      .f32_minmax = ref::f32_minmax,
  };
  return table;
}

}  // namespace sparq::kernels
