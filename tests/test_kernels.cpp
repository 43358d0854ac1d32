// Every kernel table against the scalar references (kernels/ref), on odd sizes and on the shapes
// of BERT-base, for each ISA this machine supports (the others are reported as skipped).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/qgemm.h"
#include "kernels/ref/reference.h"
#include "sparq/error.h"
#include "test_util.h"

namespace sparq::kernels {
namespace {

class KernelTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    std::string missing = missing_features(GetParam());
    if (!missing.empty()) GTEST_SKIP() << "CPU lacks " << missing;
    table_ = &table_for(GetParam());
  }
  const KernelTable& table() const { return *table_; }

 private:
  const KernelTable* table_ = nullptr;
};

using test::random_s8;
using test::random_u8;
std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f) {
  return test::random_floats(n, seed, scale);
}

struct GemmCase {
  int64_t m, n, k;
  int64_t lda_pad = 0, ldc_pad = 0;
};

// Runs the table's GEMM (packing + driver + tile) and the double-precision reference and
// compares them with a bound scaled by sum |a||w| (the error fp32 accumulation can make).
void check_gemm(const KernelTable& table, const GemmCase& g, Activation act, bool bias,
                bool residual, core::ThreadPool* pool) {
  SCOPED_TRACE(::testing::Message()
               << table.isa_name << " m=" << g.m << " n=" << g.n << " k=" << g.k
               << " act=" << activation_name(act) << " bias=" << bias << " residual=" << residual
               << " threads=" << (pool ? pool->size() : 1));
  const int64_t lda = g.k + g.lda_pad, ldc = g.n + g.ldc_pad;
  auto a = random_vector(static_cast<size_t>(g.m * lda), 1);
  auto w =
      random_vector(static_cast<size_t>(g.n * g.k), 2, 1.0f / std::sqrt(static_cast<float>(g.k)));
  auto b = random_vector(static_cast<size_t>(g.n), 3);
  auto r = random_vector(static_cast<size_t>(g.m * ldc), 4);
  GemmEpilogue ep;
  ep.bias = bias ? b.data() : nullptr;
  ep.activation = act;
  ep.residual = residual ? r.data() : nullptr;
  ep.ldr = ldc;

  core::AlignedBuffer<float> packed(packed_b_floats(g.n, g.k, table.gemm_nr));
  pack_b_transposed(w.data(), g.k, g.n, g.k, table.gemm_nr, packed.data());
  std::vector<float> c(static_cast<size_t>(g.m * ldc), -777.0f), expected(c.size(), -777.0f);
  gemm_f32(table, g.m, g.n, g.k, a.data(), lda, packed.data(), c.data(), ldc, ep, pool);
  ref::gemm_reference(g.m, g.n, g.k, a.data(), lda, w.data(), g.k, ep, expected.data(), ldc);

  int failures = 0;
  for (int64_t i = 0; i < g.m; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const size_t at = static_cast<size_t>(i * ldc + j);
      if (j >= g.n) {  // padding columns must be untouched
        if (c[at] != -777.0f && ++failures < 5)
          ADD_FAILURE() << "wrote outside C at " << i << "," << j;
        continue;
      }
      double magnitude = 0.0;
      for (int64_t p = 0; p < g.k; ++p)
        magnitude +=
            std::fabs(a[static_cast<size_t>(i * lda + p)] * w[static_cast<size_t>(j * g.k + p)]);
      const double tol = 2e-6 * (1.0 + magnitude) + 1e-6 * std::fabs(expected[at]);
      if (!(std::fabs(c[at] - expected[at]) <= tol) && ++failures < 5)
        ADD_FAILURE() << "C[" << i << "," << j << "] = " << c[at] << ", reference " << expected[at];
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST_P(KernelTest, GemmOddSizesEveryEpilogue) {
  const std::vector<GemmCase> cases = {{1, 1, 1},
                                       {1, 7, 3},
                                       {3, 5, 7},
                                       {13, 33, 17},
                                       {12, 32, 16},
                                       {25, 65, 300},
                                       {37, 100, 513, 3, 5},
                                       {2, 2, 768},
                                       {70, 3, 72},
                                       {11, 200, 72, 1, 0}};
  for (const auto& g : cases)
    for (Activation act : {Activation::none, Activation::gelu_erf, Activation::gelu_tanh,
                           Activation::relu, Activation::tanh})
      for (bool residual : {false, true}) check_gemm(table(), g, act, true, residual, nullptr);
  check_gemm(table(), {9, 18, 27}, Activation::none, false, false, nullptr);
}

TEST_P(KernelTest, GemmBertBaseShapes) {
  core::ThreadPool pool(2);
  // QKV, attention output, intermediate (+GELU), output (+residual); attention Q·K^T and P·V
  check_gemm(table(), {128, 2304, 768}, Activation::none, true, false, &pool);
  check_gemm(table(), {128, 768, 768}, Activation::none, true, true, &pool);
  check_gemm(table(), {128, 3072, 768}, Activation::gelu_erf, true, false, &pool);
  check_gemm(table(), {128, 768, 3072}, Activation::none, true, true, &pool);
  check_gemm(table(), {128, 128, 64, 2240, 0}, Activation::none, false, false, nullptr);
  check_gemm(table(), {128, 64, 128, 0, 704}, Activation::none, false, false, nullptr);
  check_gemm(table(), {1, 768, 768, 128 * 768 - 768, 0}, Activation::tanh, true, false, &pool);
}

// Each output tile is computed by one thread in the same order, so the thread count cannot
// change a single bit.
TEST_P(KernelTest, GemmIdenticalForAnyThreadCount) {
  const int64_t m = 77, n = 300, k = 129;
  auto a = random_vector(static_cast<size_t>(m * k), 5);
  auto w = random_vector(static_cast<size_t>(n * k), 6);
  core::AlignedBuffer<float> packed(packed_b_floats(n, k, table().gemm_nr));
  pack_b_transposed(w.data(), k, n, k, table().gemm_nr, packed.data());
  GemmEpilogue ep;
  std::vector<float> serial(static_cast<size_t>(m * n));
  gemm_f32(table(), m, n, k, a.data(), k, packed.data(), serial.data(), n, ep, nullptr);
  for (int threads : {2, 3, 4}) {
    core::ThreadPool pool(threads);
    std::vector<float> parallel(serial.size());
    gemm_f32(table(), m, n, k, a.data(), k, packed.data(), parallel.data(), n, ep, &pool);
    EXPECT_EQ(parallel, serial) << threads << " threads";
  }
}

TEST_P(KernelTest, PackedLayouts) {
  const int nr = table().gemm_nr;
  const int64_t n = nr + 3, k = 5;
  auto w = random_vector(static_cast<size_t>(n * k), 7);
  std::vector<float> packed(packed_b_floats(n, k, nr));
  pack_b_transposed(w.data(), k, n, k, nr, packed.data());
  for (int64_t j = 0; j < 2 * nr; ++j)
    for (int64_t p = 0; p < k; ++p) {
      float expected = j < n ? w[static_cast<size_t>(j * k + p)] : 0.0f;
      EXPECT_EQ(packed[static_cast<size_t>((j / nr) * k * nr + p * nr + j % nr)], expected);
    }
  // pack_b of W^T gives the same panels as pack_b_transposed of W
  std::vector<float> wt(static_cast<size_t>(k * n));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t p = 0; p < k; ++p)
      wt[static_cast<size_t>(p * n + j)] = w[static_cast<size_t>(j * k + p)];
  std::vector<float> packed2(packed.size());
  pack_b(wt.data(), n, k, n, nr, packed2.data());
  EXPECT_EQ(packed, packed2);
}

TEST_P(KernelTest, LayerNormMatchesReference) {
  for (int64_t n : {1, 2, 7, 15, 16, 17, 33, 64, 72, 256, 768, 1000, 1024}) {
    auto x = random_vector(static_cast<size_t>(n), 10, 3.0f);
    for (auto& v : x) v += 5.0f;  // a large mean stresses the two-pass variance
    auto gamma = random_vector(static_cast<size_t>(n), 11);
    auto beta = random_vector(static_cast<size_t>(n), 12);
    std::vector<float> y(static_cast<size_t>(n)), expected(static_cast<size_t>(n));
    table().f32_layernorm(x.data(), gamma.data(), beta.data(), 1e-12f, y.data(), n);
    ref::layernorm(x.data(), gamma.data(), beta.data(), 1e-12f, expected.data(), n);
    for (int64_t i = 0; i < n; ++i)
      EXPECT_NEAR(y[static_cast<size_t>(i)], expected[static_cast<size_t>(i)], 2e-5)
          << "n=" << n << " i=" << i;
    // in place, as the embedding LayerNorm runs
    table().f32_layernorm(x.data(), gamma.data(), beta.data(), 1e-12f, x.data(), n);
    EXPECT_EQ(x, y) << "n=" << n;
  }
}

TEST_P(KernelTest, SoftmaxMatchesReference) {
  const float lowest = std::numeric_limits<float>::lowest();
  for (int64_t n : {1, 3, 8, 15, 16, 17, 64, 70, 128, 384, 513}) {
    auto scores = random_vector(static_cast<size_t>(n), 20, 4.0f);
    std::vector<float> mask(static_cast<size_t>(n), 0.0f);
    for (int64_t i = n / 2 + 1; i < n; ++i) mask[static_cast<size_t>(i)] = lowest;  // padded keys
    for (bool masked : {false, true}) {
      auto row = scores, expected = scores;
      table().f32_softmax(row.data(), n, 0.125f, masked ? mask.data() : nullptr);
      ref::softmax(expected.data(), n, 0.125f, masked ? mask.data() : nullptr);
      double sum = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        EXPECT_NEAR(row[static_cast<size_t>(i)], expected[static_cast<size_t>(i)], 1e-6)
            << "n=" << n;
        if (masked && mask[static_cast<size_t>(i)] != 0.0f) {
          EXPECT_EQ(row[static_cast<size_t>(i)], 0.0f);
        }
        sum += row[static_cast<size_t>(i)];
      }
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
  }
  // every key masked: uniform, as the reference's additive mask gives
  std::vector<float> row(10, 1.0f), mask(10, lowest);
  table().f32_softmax(row.data(), 10, 1.0f, mask.data());
  for (float v : row) EXPECT_NEAR(v, 0.1f, 1e-6);
}

TEST_P(KernelTest, ActivationsMatchReference) {
  std::vector<float> xs;
  for (float x = -12.0f; x <= 12.0f; x += 0.0137f) xs.push_back(x);
  for (float x : {0.0f, -0.0f, 1e-8f, -1e-8f, 1e-30f, 50.0f, -50.0f, 100.0f, -100.0f, 1e4f, -1e4f})
    xs.push_back(x);
  for (Activation act :
       {Activation::gelu_erf, Activation::gelu_tanh, Activation::relu, Activation::tanh}) {
    auto y = xs;
    table().f32_activation(act, y.data(), static_cast<int64_t>(y.size()));
    for (size_t i = 0; i < xs.size(); ++i) {
      const float expected = ref::activate(act, xs[i]);
      EXPECT_NEAR(y[i], expected, 1e-6 * std::max(1.0f, std::fabs(xs[i])))
          << activation_name(act) << "(" << xs[i] << ")";
    }
  }
}

struct QGemmRun {
  std::vector<float> c;
  std::vector<int32_t> raw;
};

// The table's integer GEMM (packing + quantized rows + driver + tile) against the reference: raw
// int32 accumulators must be equal, and so must the dequantized outputs (same float operations).
void check_qgemm(const KernelTable& table, int64_t m, int64_t n, int64_t k, bool dynamic,
                 bool per_channel, Activation act, bool residual, core::ThreadPool* pool) {
  SCOPED_TRACE(::testing::Message()
               << table.isa_name << " m=" << m << " n=" << n << " k=" << k << " dynamic=" << dynamic
               << " per_channel=" << per_channel << " act=" << activation_name(act));
  const int64_t kp = padded_k(k, table.qgemm_kgroup);
  auto a = random_u8(static_cast<size_t>(m * kp), 11);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t p = k; p < kp; ++p)
      a[static_cast<size_t>(r * kp + p)] = 0;  // the drivers zero the padding
  auto w = random_s8(static_cast<size_t>(n * k), 12);
  auto b_scale = random_vector(static_cast<size_t>(n), 13, 0.01f);
  for (auto& v : b_scale) v = std::fabs(v) + 1e-4f;
  auto a_scale = random_vector(static_cast<size_t>(m), 14, 0.05f);
  for (auto& v : a_scale) v = std::fabs(v) + 1e-3f;
  std::vector<int32_t> a_zp(static_cast<size_t>(m));
  for (size_t i = 0; i < a_zp.size(); ++i) a_zp[i] = static_cast<int32_t>((i * 37) % 256);
  auto bias = random_vector(static_cast<size_t>(n), 15);
  auto res = random_vector(static_cast<size_t>(m * n), 16);

  std::vector<int8_t> packed(packed_qb_bytes(n, k, table.qgemm_nr, table.qgemm_kgroup));
  std::vector<int32_t> sums(static_cast<size_t>(n));
  pack_qb_transposed(w.data(), k, n, k, table.qgemm_nr, table.qgemm_kgroup, packed.data(),
                     sums.data());

  QGemmEpilogue ep;
  ep.column_sums = sums.data();
  ep.b_scale = b_scale.data();
  ep.per_channel = per_channel;
  ep.a_scale = a_scale.data();
  ep.a_zero_point = a_zp.data();
  ep.a_scale_stride = ep.a_zero_point_stride = dynamic ? 1 : 0;
  ep.bias = bias.data();
  ep.activation = act;
  ep.residual = residual ? res.data() : nullptr;
  ep.ldr = n;
  QGemmRun got, want;
  got.c.assign(static_cast<size_t>(m * n), -7.0f);
  want.c = got.c;
  qgemm(table, m, n, k, a.data(), kp, packed.data(), ep, got.c.data(), nullptr, n, pool);
  ref::qgemm_reference(m, n, k, a.data(), kp, w.data(), k, ep, want.c.data(), nullptr, n);
  if (act == Activation::none) {
    EXPECT_EQ(got.c, want.c);
  } else {
    for (size_t i = 0; i < got.c.size(); ++i)
      ASSERT_NEAR(got.c[i], want.c[i], 2e-6 * std::max(1.0f, std::fabs(want.c[i]))) << i;
  }
  // requantized for a next layer: what u8_quantize makes of this table's fp32 output, and, as
  // the fp32 outputs are equal without an activation, of the reference's
  for (bool smoothed : {false, true}) {
    const test::RequantizeCase rc = test::requantize_case(n, smoothed, 17);
    std::vector<uint8_t> q(static_cast<size_t>(m * n), 3), q_ref(q.size(), 4);
    QGemmEpilogue requantized = ep;
    requantized.requantize = rc.into(q.data(), n);
    qgemm(table, m, n, k, a.data(), kp, packed.data(), requantized, nullptr, nullptr, n, pool);
    EXPECT_EQ(q, rc.quantize(table, got.c, m, n)) << "smoothed=" << smoothed;
    requantized.requantize = rc.into(q_ref.data(), n);
    ref::qgemm_reference(m, n, k, a.data(), kp, w.data(), k, requantized, nullptr, nullptr, n);
    if (act == Activation::none) {
      EXPECT_EQ(q, q_ref) << "smoothed=" << smoothed;
    }
  }
  QGemmEpilogue raw;
  raw.raw = true;
  got.raw.assign(static_cast<size_t>(m * n), -1);
  want.raw = got.raw;
  qgemm(table, m, n, k, a.data(), kp, packed.data(), raw, nullptr, got.raw.data(), n, pool);
  ref::qgemm_reference(m, n, k, a.data(), kp, w.data(), k, raw, nullptr, want.raw.data(), n);
  EXPECT_EQ(got.raw, want.raw);
}

TEST_P(KernelTest, IntegerGemmExactOnOddSizes) {
  for (auto [m, n, k] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{1, 1, 1},
                                                                           {1, 5, 3},
                                                                           {3, 7, 5},
                                                                           {13, 33, 17},
                                                                           {12, 32, 16},
                                                                           {25, 65, 300},
                                                                           {37, 100, 513},
                                                                           {2, 2, 768},
                                                                           {70, 3, 72}})
    for (bool dynamic : {false, true})
      for (bool per_channel : {false, true})
        check_qgemm(table(), m, n, k, dynamic, per_channel, Activation::none, true, nullptr);
  check_qgemm(table(), 9, 40, 30, true, true, Activation::gelu_erf, false, nullptr);
  check_qgemm(table(), 9, 40, 30, false, true, Activation::gelu_tanh, true, nullptr);
}

TEST_P(KernelTest, IntegerGemmExactOnBertBaseShapes) {
  core::ThreadPool pool(2);
  check_qgemm(table(), 128, 2304, 768, true, true, Activation::none, false, &pool);
  check_qgemm(table(), 128, 768, 768, false, true, Activation::none, true, &pool);
  check_qgemm(table(), 128, 3072, 768, true, true, Activation::gelu_erf, false, &pool);
  check_qgemm(table(), 128, 768, 3072, true, false, Activation::none, true, &pool);
}

TEST_P(KernelTest, QuantizeAndMinMaxMatchReference) {
  // lengths around the vector width and f32_minmax's four chains of one vector each, zero points
  // at both ends, values far outside the range and ties at the clamping bounds
  for (int64_t n : {1, 7, 16, 17, 64, 65, 100, 768, 3072}) {
    auto x = random_vector(static_cast<size_t>(n), 30, 3.0f);
    x[0] = 1e20f;  // far outside the range: saturates
    if (n > 1) x[1] = -1e20f;
    if (n > 2) x[2] = 0.5f * 0.02f;  // an exact tie under scale 0.02: rounds to even
    std::vector<uint8_t> q(static_cast<size_t>(n)), q_ref(static_cast<size_t>(n));
    auto columns = random_vector(static_cast<size_t>(n), 31, 2.0f);
    for (const float* column_scale :
         {static_cast<const float*>(nullptr), static_cast<const float*>(columns.data())}) {
      for (int32_t zero_point : {0, 1, 128, 255}) {
        if (n > 4) {
          x[3] = (-zero_point - 0.5f) * 0.02f;  // half a step below 0 and above 255
          x[4] = (255.5f - zero_point) * 0.02f;
        }
        table().u8_quantize(x.data(), n, column_scale, 1.0f / 0.02f, zero_point, q.data());
        ref::u8_quantize(x.data(), n, column_scale, 1.0f / 0.02f, zero_point, q_ref.data());
        EXPECT_EQ(q, q_ref) << n << " " << zero_point;
      }
      float lo, hi, lo_ref, hi_ref;
      table().f32_minmax(x.data(), n, column_scale, &lo, &hi);
      ref::f32_minmax(x.data(), n, column_scale, &lo_ref, &hi_ref);
      EXPECT_EQ(lo, lo_ref);
      EXPECT_EQ(hi, hi_ref);
    }
  }
}

TEST_P(KernelTest, SymmetricQuantizeMatchesReference) {
  // row counts around the vector width (rows go W at a time, then one by one), a zero row in
  // the middle of a group, padded and strided rows, with and without sums
  for (int64_t m : {1, 3, 8, 16, 17, 37})
    for (int64_t n : {1, 7, 16, 17, 64, 100, 128, 384, 768}) {
      const int64_t ldx = n + 3, ldq = (n + 3) / 4 * 4 + 4;
      auto x = random_vector(static_cast<size_t>(m * ldx), 32, 3.0f);
      if (m > 5) std::fill_n(x.begin() + 5 * ldx, n, 0.0f);
      for (int32_t offset : {0, 128})
        for (bool with_sums : {true, false}) {
          std::vector<uint8_t> q(static_cast<size_t>(m * ldq), 9);
          std::vector<float> scales(static_cast<size_t>(m), -1.0f);
          std::vector<int32_t> sums(static_cast<size_t>(m), -1);
          table().i8_quantize_symmetric_rows(x.data(), ldx, m, n, offset, q.data(), ldq,
                                             scales.data(), with_sums ? sums.data() : nullptr);
          for (int64_t r = 0; r < m; ++r) {
            SCOPED_TRACE(::testing::Message()
                         << "m " << m << " n " << n << " row " << r << " offset " << offset);
            std::vector<uint8_t> q_ref(static_cast<size_t>(n));
            int32_t sum_ref = -2;
            const float scale_ref =
                ref::i8_quantize_symmetric(x.data() + r * ldx, n, offset, q_ref.data(), &sum_ref);
            const float scale = scales[static_cast<size_t>(r)];
            const uint8_t* row = q.data() + r * ldq;
            EXPECT_EQ(scale, scale_ref);
            EXPECT_EQ(std::vector<uint8_t>(row, row + n), q_ref);
            EXPECT_EQ(std::vector<uint8_t>(row + n, row + ldq),
                      std::vector<uint8_t>(static_cast<size_t>(ldq - n), 0));
            EXPECT_EQ(sums[static_cast<size_t>(r)], with_sums ? sum_ref : -1);
            if (r == 5) {
              EXPECT_EQ(scale, 1.0f);
            }
            // the largest magnitude maps to +-127, and the values dequantize to within half a step
            for (int64_t i = 0; i < n; ++i) {
              const int32_t v = offset ? row[i] - offset : static_cast<int8_t>(row[i]);
              EXPECT_LE(std::abs(v), 127);
              EXPECT_NEAR(v * scale, x[static_cast<size_t>(r * ldx + i)], 0.5f * scale * 1.0001f);
            }
          }
        }
    }
}

TEST_P(KernelTest, QuantizedSoftmaxMatchesSoftmax) {
  const float lowest = std::numeric_limits<float>::lowest();
  for (int64_t n : {1, 3, 15, 16, 17, 64, 70, 128, 384, 513}) {
    auto scores = random_vector(static_cast<size_t>(n), 21, 4.0f);
    std::vector<float> mask(static_cast<size_t>(n), 0.0f);
    for (int64_t i = n / 2 + 1; i < n; ++i) mask[static_cast<size_t>(i)] = lowest;
    for (bool masked : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "n=" << n << " masked=" << masked);
      const float* m = masked ? mask.data() : nullptr;
      auto row = scores, row_ref = scores, probabilities = scores;
      std::vector<uint8_t> q(static_cast<size_t>(n)), q_ref(static_cast<size_t>(n));
      const float scale = table().u8_softmax(row.data(), n, 0.125f, m, q.data());
      const float scale_ref = ref::u8_softmax(row_ref.data(), n, 0.125f, m, q_ref.data());
      ref::softmax(probabilities.data(), n, 0.125f, m);
      EXPECT_NEAR(scale, scale_ref, 1e-4 * scale_ref);
      int largest = 0;
      for (int64_t i = 0; i < n; ++i) {
        const auto at = static_cast<size_t>(i);
        // the coarse exp may move a value sitting on a rounding boundary by one step
        EXPECT_LE(std::abs(q[at] - q_ref[at]), 1) << i;
        EXPECT_NEAR(q[at] * scale, probabilities[at], 0.5 * scale + 1e-4 * probabilities[at]) << i;
        if (masked && mask[at] != 0.0f) {
          EXPECT_EQ(q[at], 0);
        }
        largest = std::max<int>(largest, q[at]);
      }
      EXPECT_EQ(largest, 255);  // the most likely key uses the whole range
    }
  }
}

TEST_P(KernelTest, PackedRowsMatchThePackedLayout) {
  for (auto [n, k] : std::vector<std::pair<int64_t, int64_t>>{
           {1, 1}, {5, 3}, {33, 17}, {32, 64}, {70, 64}, {64, 384}, {64, 129}}) {
    const int64_t ldw = padded_k(k, 4) + 4;
    auto w = random_s8(static_cast<size_t>(n * ldw), 40);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = k; j < ldw; ++j) w[static_cast<size_t>(r * ldw + j)] = 0;
    const size_t bytes = packed_qb_bytes(n, k, table().qgemm_nr, table().qgemm_kgroup);
    std::vector<int8_t> got(bytes, 7), want(bytes, 9);
    pack_qb_rows(table(), w.data(), ldw, n, k, got.data());
    pack_qb_transposed(w.data(), ldw, n, k, table().qgemm_nr, table().qgemm_kgroup, want.data(),
                       nullptr);
    EXPECT_EQ(got, want) << "n=" << n << " k=" << k;
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, KernelTest, ::testing::ValuesIn(test::all_isas()),
                         [](const auto& info) { return test::isa_label(info.param); });

TEST(Dispatch, ParsesNamesAndRefusesUnknown) {
  EXPECT_EQ(parse_isa("avx2"), Isa::avx2);
  EXPECT_EQ(parse_isa("vnni"), Isa::avx512_vnni);
  EXPECT_EQ(parse_isa("avx512_vnni"), Isa::avx512_vnni);
  EXPECT_FALSE(parse_isa("sse9").has_value());
  EXPECT_THROW(table_for_name("sse9"), sparq::Error);
  EXPECT_TRUE(isa_supported(Isa::ref));
  EXPECT_EQ(supported_isas().front(), Isa::ref);
}

}  // namespace
}  // namespace sparq::kernels
