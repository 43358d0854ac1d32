#include "quant/gptq.h"

#include <algorithm>
#include <cmath>

#include "core/aligned_buffer.h"
#include "kernels/gemm.h"

namespace sparq::quant {
namespace {

constexpr int64_t kBlock = 64;        // Cholesky and triangular-inverse blocks
constexpr int64_t kRoundBlock = 128;  // GPTQ's lazy-batch width

// C[m, n] = (subtract ? C - A·B : A·B) with A [m, k] (lda) and B [k, n] row-major (ldb).
enum class Update { assign, add, subtract };

// C[m, n] = A·B, C + A·B or C - A·B, with A [m, k] (lda) and B [k, n] row-major (ldb).
void multiply(const kernels::KernelTable& table, core::ThreadPool* pool, int64_t m, int64_t n,
              int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
              int64_t ldc, Update update) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  core::AlignedBuffer<float> packed(kernels::packed_b_floats(n, k, table.gemm_nr));
  kernels::pack_b(b, ldb, k, n, table.gemm_nr, packed.data());
  kernels::GemmEpilogue ep;
  if (update != Update::assign) {
    if (update == Update::subtract)
      for (size_t i = 0; i < packed.size(); ++i) packed[i] = -packed[i];
    ep.residual = c;
    ep.ldr = ldc;
  }
  kernels::gemm_f32(table, m, n, k, a, lda, packed.data(), c, ldc, ep, pool);
}

}  // namespace

bool cholesky_lower(const kernels::KernelTable& table, core::ThreadPool* pool, float* a,
                    int64_t n) {
  for (int64_t k0 = 0; k0 < n; k0 += kBlock) {
    const int64_t k1 = std::min(n, k0 + kBlock);
    // this block's columns, for every row from k0 down: earlier blocks were already subtracted
    for (int64_t j = k0; j < k1; ++j) {
      double d = a[j * n + j];
      for (int64_t p = k0; p < j; ++p) d -= static_cast<double>(a[j * n + p]) * a[j * n + p];
      if (!(d > 0.0)) return false;
      const double ljj = std::sqrt(d);
      a[j * n + j] = static_cast<float>(ljj);
      for (int64_t i = j + 1; i < n; ++i) {
        double s = a[i * n + j];
        for (int64_t p = k0; p < j; ++p) s -= static_cast<double>(a[i * n + p]) * a[j * n + p];
        a[i * n + j] = static_cast<float>(s / ljj);
      }
    }
    // trailing block: A22 -= L21 L21^T
    const int64_t m = n - k1, kb = k1 - k0;
    if (m > 0) {
      core::AlignedBuffer<float> l21t(static_cast<size_t>(kb * m));  // L21^T as [kb][m]
      for (int64_t i = 0; i < m; ++i)
        for (int64_t p = 0; p < kb; ++p)
          l21t[static_cast<size_t>(p * m + i)] = a[(k1 + i) * n + k0 + p];
      multiply(table, pool, m, m, kb, a + k1 * n + k0, n, l21t.data(), m, a + k1 * n + k1, n,
               Update::subtract);
    }
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) a[i * n + j] = 0.0f;
  return true;
}

std::vector<float> invert_lower(const kernels::KernelTable& table, core::ThreadPool* pool,
                                const float* l, int64_t n) {
  std::vector<float> x(static_cast<size_t>(n * n), 0.0f);
  std::vector<float> t;
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t i1 = std::min(n, i0 + kBlock), b = i1 - i0;
    // the diagonal block's inverse by forward substitution
    for (int64_t c = i0; c < i1; ++c)
      for (int64_t r = c; r < i1; ++r) {
        double s = r == c ? 1.0 : 0.0;
        for (int64_t p = c; p < r; ++p)
          s -= static_cast<double>(l[r * n + p]) * x[static_cast<size_t>(p * n + c)];
        x[static_cast<size_t>(r * n + c)] = static_cast<float>(s / l[r * n + r]);
      }
    if (i0 == 0) continue;
    // X[I, 0:i0] = -X[I, I] (L[I, 0:i0] X[0:i0, 0:i0])
    t.assign(static_cast<size_t>(b * i0), 0.0f);
    multiply(table, pool, b, i0, i0, l + i0 * n, n, x.data(), n, t.data(), i0, Update::assign);
    multiply(table, pool, b, i0, b, x.data() + i0 * n + i0, n, t.data(), i0, x.data() + i0 * n, n,
             Update::subtract);
  }
  return x;
}

void add_gram(const kernels::KernelTable& table, core::ThreadPool* pool, const float* x,
              int64_t rows, int64_t cols, float* h) {
  std::vector<float> xt(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) xt[static_cast<size_t>(c * rows + r)] = x[r * cols + c];
  multiply(table, pool, cols, cols, rows, xt.data(), rows, x, cols, h, cols, Update::add);
}

bool gptq_factor(const kernels::KernelTable& table, core::ThreadPool* pool, std::vector<float> h,
                 int64_t n, double damping, std::vector<float>& u) {
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += h[static_cast<size_t>(i * n + i)];
  mean = mean > 0 ? mean / static_cast<double>(n) : 1.0;
  for (int64_t i = 0; i < n; ++i) {
    float& d = h[static_cast<size_t>(i * n + i)];
    if (d == 0.0f) d = 1.0f;  // an input that never fires: its column is free
    d += static_cast<float>(damping * mean);
  }
  // U (upper, U^T U = H^-1) is the reversal of the inverse of the lower Cholesky factor of the
  // reversed H: P H P = L L^T gives H = (P L P)(P L P)^T, so U = (P L P)^-1 = P L^-1 P.
  std::vector<float> reversed(h.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      reversed[static_cast<size_t>(i * n + j)] =
          h[static_cast<size_t>((n - 1 - i) * n + (n - 1 - j))];
  if (!cholesky_lower(table, pool, reversed.data(), n)) return false;
  const std::vector<float> inverse = invert_lower(table, pool, reversed.data(), n);
  u.assign(h.size(), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j)
      u[static_cast<size_t>(i * n + j)] =
          inverse[static_cast<size_t>((n - 1 - i) * n + (n - 1 - j))];
  return true;
}

void gptq_round(const kernels::KernelTable& table, core::ThreadPool* pool,
                const std::vector<float>& u, float* w, int64_t out, int64_t in, bool per_channel,
                int8_t* q, float* scales) {
  auto scale_of = [](float max_abs) { return max_abs > 0.0f ? max_abs / 127.0f : 1.0f; };
  float tensor_max = 0.0f;
  for (int64_t r = 0; r < out; ++r) {
    float row_max = 0.0f;
    for (int64_t j = 0; j < in; ++j) row_max = std::max(row_max, std::fabs(w[r * in + j]));
    if (per_channel) scales[r] = scale_of(row_max);
    tensor_max = std::max(tensor_max, row_max);
  }
  if (!per_channel) scales[0] = scale_of(tensor_max);
  // pruned weights stay exactly zero (their error is compensated like any other), so the
  // sparsity that sparse kernels exploit survives quantization
  std::vector<uint8_t> pruned(static_cast<size_t>(out * in));
  for (int64_t i = 0; i < out * in; ++i) pruned[static_cast<size_t>(i)] = w[i] == 0.0f;
  std::vector<float> err(static_cast<size_t>(out * kRoundBlock));
  for (int64_t i1 = 0; i1 < in; i1 += kRoundBlock) {
    const int64_t i2 = std::min(in, i1 + kRoundBlock), width = i2 - i1;
    auto rows = [&](int64_t begin, int64_t end, int) {
      for (int64_t r = begin; r < end; ++r) {
        const float scale = per_channel ? scales[r] : scales[0];
        float* row = w + r * in;
        for (int64_t i = i1; i < i2; ++i) {
          const float v = row[i];
          const float rounded = pruned[static_cast<size_t>(r * in + i)]
                                    ? 0.0f
                                    : std::clamp(std::nearbyint(v / scale), -127.0f, 127.0f);
          q[r * in + i] = static_cast<int8_t>(rounded);
          const float e = (v - rounded * scale) / u[static_cast<size_t>(i * in + i)];
          err[static_cast<size_t>(r * kRoundBlock + (i - i1))] = e;
          const float* ui = u.data() + i * in;
          for (int64_t j = i + 1; j < i2; ++j) row[j] -= e * ui[j];
        }
      }
    };
    if (pool)
      pool->parallel_for(out, rows);
    else
      rows(0, out, 0);
    // the block's errors, applied to every column still to round
    if (i2 < in)
      multiply(table, pool, out, in - i2, width, err.data(), kRoundBlock, u.data() + i1 * in + i2,
               in, w + i2, in, Update::subtract);
  }
}

}  // namespace sparq::quant
