// Sparse weights: structure measurement, packing, and every table's sparse tiles against the same
// table's dense GEMM on the same pruned weights (fp32 within 1e-5 relative, int8 exactly), over
// sparsities 0-100%, both patterns, odd sizes, every token-tile width and BERT-base shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <tuple>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/thread_pool.h"
#include "io/json_io.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/qgemm.h"
#include "sparq/runtime.h"
#include "sparse/pruning.h"
#include "sparse/sparse_weights.h"
#include "sparse/spmm.h"
#include "test_util.h"

namespace sparq::sparse {
namespace {

using kernels::Activation;
using kernels::Isa;
using kernels::KernelTable;

class SparseTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    std::string missing = kernels::missing_features(GetParam());
    if (!missing.empty()) GTEST_SKIP() << "CPU lacks " << missing;
    table_ = &kernels::table_for(GetParam());
  }
  const KernelTable& table() const { return *table_; }

 private:
  const KernelTable* table_ = nullptr;
};

// exact random pruning, with a fixed seed per call site
template <typename T>
void prune(std::vector<T>& w, int64_t rows, int64_t cols, double sparsity, Pattern pattern,
           uint32_t seed) {
  prune_random(w.data(), rows, cols, sparsity, pattern, seed);
}

struct Shape {
  int64_t m, n, k;
};

const std::vector<Shape> kOddShapes = {{1, 1, 1},     {1, 7, 5},     {3, 17, 33},  {16, 16, 16},
                                       {17, 31, 64},  {31, 45, 129}, {64, 33, 30}, {100, 40, 257},
                                       {130, 19, 72}, {257, 24, 48}};

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double relative) {
  double scale = 0.0, worst = 0.0;
  size_t worst_at = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
    const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(d <= worst)) {
      worst = d;
      worst_at = i;
    }
  }
  EXPECT_LE(worst, relative * std::max(scale, 1e-30))
      << "at " << worst_at << ": " << got[worst_at] << " vs " << want[worst_at];
}

// Sparse fp32 (block 1 and 4) against the dense GEMM of the same table on the same weights.
void check_f32(const KernelTable& table, Shape s, double sparsity, Pattern pattern, Activation act,
               bool bias, bool residual, core::ThreadPool* pool) {
  SCOPED_TRACE(::testing::Message()
               << table.isa_name << " m=" << s.m << " n=" << s.n << " k=" << s.k
               << " sparsity=" << sparsity << " block4=" << (pattern == Pattern::block4));
  auto x = test::random_floats(static_cast<size_t>(s.m * s.k), 21);
  auto w = test::random_floats(static_cast<size_t>(s.n * s.k), 22,
                               1.0f / std::sqrt(static_cast<float>(s.k)));
  prune(w, s.n, s.k, sparsity, pattern, 23);
  auto b = test::random_floats(static_cast<size_t>(s.n), 24);
  auto res = test::random_floats(static_cast<size_t>(s.m * s.n), 25);
  kernels::GemmEpilogue ep;
  ep.bias = bias ? b.data() : nullptr;
  ep.activation = act;
  ep.residual = residual ? res.data() : nullptr;
  ep.ldr = s.n;

  core::AlignedBuffer<float> packed(kernels::packed_b_floats(s.n, s.k, table.gemm_nr));
  kernels::pack_b_transposed(w.data(), s.k, s.n, s.k, table.gemm_nr, packed.data());
  std::vector<float> dense(static_cast<size_t>(s.m * s.n));
  kernels::gemm_f32(table, s.m, s.n, s.k, x.data(), s.k, packed.data(), dense.data(), s.n, ep,
                    pool);
  for (int block : {1, 4}) {
    SCOPED_TRACE(::testing::Message() << "sparse block " << block);
    const SparseWeights sw = pack_sparse_f32(table, w.data(), s.n, s.k, block);
    SpmmScratch scratch;
    std::vector<float> sparse(dense.size(), -777.0f);
    spmm_f32(table, sw, x.data(), s.k, s.m, sparse.data(), s.n, ep, scratch, pool);
    expect_close(sparse, dense, 1e-5);
  }
}

struct QuantCase {
  bool dynamic = true;
  bool per_channel = true;
  Activation act = Activation::none;
  bool residual = false;
};

// Sparse int8 against the dense integer GEMM of the same table: raw int32 and dequantized
// outputs bit for bit.
void check_s8(const KernelTable& table, Shape s, double sparsity, Pattern pattern, QuantCase qc,
              core::ThreadPool* pool) {
  SCOPED_TRACE(::testing::Message() << table.isa_name << " m=" << s.m << " n=" << s.n
                                    << " k=" << s.k << " sparsity=" << sparsity << " block4="
                                    << (pattern == Pattern::block4) << " dynamic=" << qc.dynamic);
  const int64_t k4 = (s.k + 3) / 4 * 4;
  const int64_t ldq = std::max(k4, kernels::padded_k(s.k, table.qgemm_kgroup));
  auto q = test::random_u8(static_cast<size_t>(s.m * ldq), 31);
  for (int64_t r = 0; r < s.m; ++r)
    for (int64_t c = s.k; c < ldq; ++c) q[static_cast<size_t>(r * ldq + c)] = 0;
  auto w = test::random_s8(static_cast<size_t>(s.n * s.k), 32);
  prune(w, s.n, s.k, sparsity, pattern, 33);
  auto b_scale = test::random_floats(static_cast<size_t>(s.n), 34, 0.01f);
  for (auto& v : b_scale) v = std::fabs(v) + 1e-4f;
  auto a_scale = test::random_floats(static_cast<size_t>(s.m), 35, 0.05f);
  for (auto& v : a_scale) v = std::fabs(v) + 1e-3f;
  std::vector<int32_t> a_zp(static_cast<size_t>(s.m));
  for (size_t i = 0; i < a_zp.size(); ++i) a_zp[i] = static_cast<int32_t>((i * 37) % 256);
  auto bias = test::random_floats(static_cast<size_t>(s.n), 36);
  auto res = test::random_floats(static_cast<size_t>(s.m * s.n), 37);

  std::vector<int8_t> packed(
      kernels::packed_qb_bytes(s.n, s.k, table.qgemm_nr, table.qgemm_kgroup));
  std::vector<int32_t> sums(static_cast<size_t>(s.n));
  kernels::pack_qb_transposed(w.data(), s.k, s.n, s.k, table.qgemm_nr, table.qgemm_kgroup,
                              packed.data(), sums.data());
  const SparseWeights sw = pack_sparse_s8(table, w.data(), s.n, s.k);
  SpmmScratch scratch;

  kernels::QGemmEpilogue ep;
  ep.column_sums = sums.data();
  ep.b_scale = b_scale.data();
  ep.per_channel = qc.per_channel;
  ep.a_scale = a_scale.data();
  ep.a_zero_point = a_zp.data();
  ep.a_scale_stride = ep.a_zero_point_stride = qc.dynamic ? 1 : 0;
  ep.bias = bias.data();
  ep.activation = qc.act;
  ep.residual = qc.residual ? res.data() : nullptr;
  ep.ldr = s.n;
  std::vector<float> dense(static_cast<size_t>(s.m * s.n)), sparse(dense.size(), -7.0f);
  kernels::qgemm(table, s.m, s.n, s.k, q.data(), ldq, packed.data(), ep, dense.data(), nullptr, s.n,
                 pool);
  spmm_u8s8(table, sw, q.data(), ldq, s.m, ep, sparse.data(), nullptr, s.n, scratch, pool);
  EXPECT_EQ(sparse, dense);

  // requantized for a next layer: what u8_quantize makes of the fp32 output
  const test::RequantizeCase rc = test::requantize_case(s.n, !qc.per_channel, 38);
  std::vector<uint8_t> requantized(static_cast<size_t>(s.m * s.n), 5);
  kernels::QGemmEpilogue rq = ep;
  rq.requantize = rc.into(requantized.data(), s.n);
  spmm_u8s8(table, sw, q.data(), ldq, s.m, rq, nullptr, nullptr, s.n, scratch, pool);
  EXPECT_EQ(requantized, rc.quantize(table, dense, s.m, s.n));

  kernels::QGemmEpilogue raw;
  raw.raw = true;
  std::vector<int32_t> dense_raw(static_cast<size_t>(s.m * s.n)), sparse_raw(dense_raw.size(), -1);
  kernels::qgemm(table, s.m, s.n, s.k, q.data(), ldq, packed.data(), raw, nullptr, dense_raw.data(),
                 s.n, pool);
  spmm_u8s8(table, sw, q.data(), ldq, s.m, raw, nullptr, sparse_raw.data(), s.n, scratch, pool);
  EXPECT_EQ(sparse_raw, dense_raw);
}

const std::vector<double> kSparsities = {0.0, 0.5, 0.9, 0.99, 1.0};

TEST_P(SparseTest, F32EqualsDenseOnOddSizes) {
  for (const Shape& s : kOddShapes)
    for (double sparsity : kSparsities)
      for (Pattern p : {Pattern::unstructured, Pattern::block4})
        check_f32(table(), s, sparsity, p, Activation::none, true, true, nullptr);
}

TEST_P(SparseTest, F32EveryEpilogueAndThreads) {
  core::ThreadPool pool(2);
  for (Activation act :
       {Activation::gelu_erf, Activation::gelu_tanh, Activation::relu, Activation::tanh})
    check_f32(table(), {37, 50, 96}, 0.7, Pattern::unstructured, act, true, false, &pool);
  check_f32(table(), {200, 70, 64}, 0.8, Pattern::block4, Activation::none, false, false, &pool);
}

TEST_P(SparseTest, F32BertBaseShapes) {
  core::ThreadPool pool(2);
  check_f32(table(), {128, 2304, 768}, 0.9, Pattern::block4, Activation::none, true, false, &pool);
  check_f32(table(), {128, 3072, 768}, 0.8, Pattern::unstructured, Activation::gelu_erf, true,
            false, &pool);
  check_f32(table(), {128, 768, 3072}, 0.9, Pattern::unstructured, Activation::none, true, true,
            &pool);
}

TEST_P(SparseTest, Int8ExactOnOddSizes) {
  for (const Shape& s : kOddShapes)
    for (double sparsity : kSparsities)
      for (Pattern p : {Pattern::unstructured, Pattern::block4})
        check_s8(table(), s, sparsity, p, {}, nullptr);
}

TEST_P(SparseTest, Int8EveryEpilogueAndThreads) {
  core::ThreadPool pool(2);
  check_s8(table(), {45, 60, 100}, 0.9, Pattern::block4, {false, true, Activation::none, true},
           &pool);
  check_s8(table(), {45, 60, 100}, 0.5, Pattern::unstructured,
           {true, false, Activation::gelu_erf, false}, &pool);
  check_s8(table(), {129, 48, 64}, 0.9, Pattern::block4,
           {false, false, Activation::gelu_tanh, true}, &pool);
}

TEST_P(SparseTest, Int8BertBaseShapes) {
  core::ThreadPool pool(2);
  check_s8(table(), {128, 2304, 768}, 0.9, Pattern::block4, {}, &pool);
  check_s8(table(), {128, 3072, 768}, 0.9, Pattern::unstructured,
           {true, true, Activation::gelu_erf, false}, &pool);
  check_s8(table(), {384, 768, 3072}, 0.95, Pattern::block4, {false, true, Activation::none, true},
           &pool);
}

// One K chunk of a few activation rows per pass: the partial sums carry between many passes.
TEST_P(SparseTest, ManyPassesEqualOnePass) {
  KernelTable small = table();
  small.spmm_chunk_rows = 4;
  small.spmm_pass_bytes = 1;
  small.spmm_f32_min_pass_weights = 0;
  small.spmm_u8s8_min_pass_weights = 0;
  for (const Shape& s : {Shape{5, 7, 33}, Shape{40, 45, 129}, Shape{130, 20, 72}})
    for (Pattern p : {Pattern::unstructured, Pattern::block4}) {
      check_f32(small, s, 0.6, p, Activation::gelu_erf, true, true, nullptr);
      check_s8(small, s, 0.6, p, {true, true, Activation::none, true}, nullptr);
    }
}

TEST_P(SparseTest, TransposeMatchesDefinition) {
  for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{
           {1, 1}, {3, 5}, {8, 8}, {16, 16}, {17, 33}, {40, 7}, {64, 48}})
    for (int64_t pad : {0, 3}) {
      std::vector<uint32_t> src(static_cast<size_t>(rows * (cols + pad)));
      std::iota(src.begin(), src.end(), 1u);
      const int64_t ldd = rows + pad;
      std::vector<uint32_t> dst(static_cast<size_t>(cols * ldd), 0);
      table().transpose_32(src.data(), cols + pad, rows, cols, dst.data(), ldd);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          ASSERT_EQ(dst[static_cast<size_t>(c * ldd + r)],
                    src[static_cast<size_t>(r * (cols + pad) + c)])
              << rows << "x" << cols << " at " << r << "," << c;
    }
}

// Whole models: forced sparse kernels against dense ones on every synthetic model, INT8 bit for
// bit (static activations differ only in the epilogue, tested above), fp32 within 1e-5 of the
// largest output.
TEST_P(SparseTest, ModelsMatchDenseKernels) {
  for (const std::string& name : test::synthetic_models()) {
    SCOPED_TRACE(name);
    const std::string dir = test::synthetic_dir() + "/" + name;
    const EncoderInput input =
        io::parse_encoder_input(test::read_json(dir + "/golden.json").dump(), "golden.json");
    auto run = [&](SparseMode mode, std::optional<QuantizationSpec> quantize) {
      LoadOptions load;
      load.isa = table().isa_name;
      load.sparse.mode = mode;
      load.quantize = quantize;
      Stream stream(Model::load(dir, load), 2);
      return stream.run(input).last_hidden_state.data;
    };
    std::vector<float> dense = run(SparseMode::off, std::nullopt);
    std::vector<float> sparse = run(SparseMode::force, std::nullopt);
    expect_close(sparse, dense, 1e-5);
    QuantizationSpec dynamic;
    EXPECT_EQ(run(SparseMode::force, dynamic), run(SparseMode::off, dynamic));
  }
}

// An INT8 model whose encoder layers are all sparse runs each thread's share of the tokens through
// a layer's token-local steps on its own (bert_forward.cpp, token_share_granule): any thread count
// and any split of the tokens (uneven, with padding) gives the one-thread result bit for bit.
TEST_P(SparseTest, Int8TokenSharesEqualOneThread) {
  const std::string dir = test::synthetic_dir() + "/tiny-sparse90-block4";
  for (bool int8_attention : {false, true}) {
    LoadOptions load;
    load.isa = table().isa_name;
    load.sparse.mode = SparseMode::force;
    load.quantize = QuantizationSpec{};
    load.int8_attention = int8_attention;
    auto model = Model::load(dir, load);
    std::mt19937 rng(5);
    // 64 tokens: two shares of exactly the minimum; 135 and 200: uneven shares (the model's
    // sequences are at most 64 tokens)
    for (auto [batch, seq] : {std::pair<int64_t, int64_t>{1, 64}, {3, 45}, {4, 50}}) {
      SCOPED_TRACE(::testing::Message()
                   << "batch " << batch << " seq " << seq << " int8 attention " << int8_attention);
      EncoderInput input;
      input.batch = batch;
      input.seq = seq;
      std::uniform_int_distribution<int32_t> id(
          0, static_cast<int32_t>(model->config().vocab_size - 1));
      for (int64_t t = 0; t < batch * seq; ++t) {
        input.input_ids.push_back(id(rng));
        // the second half of every other sequence is padding
        input.attention_mask.push_back(t / seq % 2 == 1 && t % seq > seq / 2 ? 0 : 1);
      }
      RunOptions options;
      options.all_hidden_states = true;
      const EncoderOutput one = Stream(model, 1).run(input, options);
      for (int threads : {2, 3}) {
        const EncoderOutput many = Stream(model, threads).run(input, options);
        ASSERT_EQ(many.hidden_states.size(), one.hidden_states.size());
        for (size_t i = 0; i < one.hidden_states.size(); ++i)
          EXPECT_EQ(many.hidden_states[i].data, one.hidden_states[i].data)
              << threads << " threads, hidden state " << i;
        EXPECT_EQ(many.logits.data, one.logits.data) << threads << " threads";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, SparseTest, ::testing::ValuesIn(test::all_isas()),
                         [](const auto& info) { return test::isa_label(info.param); });

TEST(SparseStructure, CountsZerosBlocksRowsAndColumns) {
  // 3 x 6: row 1 all zero, column 2 unused, block (0, 0..3) zero
  const std::vector<float> w = {0, 0, 0, 0, 5, 6,  //
                                0, 0, 0, 0, 0, 0,  //
                                1, 2, 0, 3, 0, 4};
  const WeightStructure s = measure_structure(w.data(), 3, 6);
  EXPECT_EQ(s.zeros, 12);
  EXPECT_EQ(s.blocks4, 6);       // two groups per row, the second padded
  EXPECT_EQ(s.zero_blocks4, 3);  // (0, 0..3), (1, 0..3), (1, 4..5)
  EXPECT_EQ(s.zero_rows, 1);
  EXPECT_EQ(s.zero_columns, 1);
  const KernelTable& ref = kernels::table_for(Isa::ref);
  const SparseWeights sw = pack_sparse_f32(ref, w.data(), 3, 6, 4);
  EXPECT_EQ(sw.blocks(), 3);
  EXPECT_EQ(sw.chunks, 1);
  for (int64_t r : {0, 1, 2, 3}) EXPECT_EQ(sw.row_begin(r), (std::vector<int64_t>{0, 1, 1, 3}[r]));
  // chunks of two activation rows: blocks of one channel split at columns 2 and 4
  KernelTable small = ref;
  small.spmm_chunk_rows = 2;
  const SparseWeights unstructured = pack_sparse_f32(small, w.data(), 3, 6, 1);
  EXPECT_EQ(unstructured.blocks(), 6);
  EXPECT_EQ(unstructured.chunks, 3);
  EXPECT_EQ(
      std::vector<int32_t>(unstructured.chunk_start.data(), unstructured.chunk_start.data() + 12),
      (std::vector<int32_t>{0, 0, 0, 2, 2, 2, 2, 2, 2, 4, 5, 6}));
}

TEST(SparseStructure, PruningIsExactAndSeeded) {
  for (Pattern pattern : {Pattern::unstructured, Pattern::block4}) {
    std::vector<float> a(static_cast<size_t>(30 * 41), 1.0f), b = a;
    prune(a, 30, 41, 0.8, pattern, 7);
    prune(b, 30, 41, 0.8, pattern, 7);
    EXPECT_EQ(a, b);
    const WeightStructure s = measure_structure(a.data(), 30, 41);
    if (pattern == Pattern::unstructured)
      EXPECT_EQ(s.zeros, std::llround(0.8 * 30 * 41));
    else
      EXPECT_EQ(s.zero_blocks4, std::llround(0.8 * 30 * 11));
  }
}

TEST(SparseStructure, RefusesInputsBeyondTheIndex) {
  EXPECT_TRUE(fits_sparse_index(65536 * 4, 4));
  EXPECT_FALSE(fits_sparse_index(65537, 1));
}

}  // namespace
}  // namespace sparq::sparse
