// Portable scalar kernels: the reference every ISA is tested against, and a complete path that
// runs on any x86-64 CPU.
#include <cmath>
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

void softmax(float* row, int64_t n, float scale, const float* mask_bias) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    row[i] = row[i] * scale + (mask_bias ? mask_bias[i] : 0.0f);
    max = row[i] > max ? row[i] : max;
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    row[i] = static_cast<float>(std::exp(static_cast<double>(row[i]) - max));
    sum += row[i];
  }
  for (int64_t i = 0; i < n; ++i) row[i] = static_cast<float>(row[i] / sum);
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
      .f32_activation = f32_activation__ref,
  };
  return table;
}

}  // namespace sparq::kernels
