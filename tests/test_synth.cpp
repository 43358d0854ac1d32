// sparq synth: complete, loadable, deterministic model directories with exact sparsity; and the
// resident size of a sparse INT8 BERT-base against its dense form.
#include <gtest/gtest.h>

#include "io/safetensors.h"
#include "sparq/error.h"
#include "sparq/model.h"
#include "sparq/pipelines.h"
#include "sparq/synth.h"
#include "sparq/tokenizer.h"
#include "test_util.h"

namespace sparq {
namespace {

TEST(Synth, WritesALoadableDeterministicModelWithExactSparsity) {
  for (auto pattern : {SparsityPattern::unstructured, SparsityPattern::block4}) {
    SynthOptions o;
    o.arch = "bert-tiny";
    o.sparsity = 0.7;
    o.pattern = pattern;
    const std::string a = test::temp_dir("synth-a"), b = test::temp_dir("synth-b");
    SynthReport r = synthesize_model(o, a);
    synthesize_model(o, b);
    EXPECT_EQ(test::read_file(a + "/model.safetensors"), test::read_file(b + "/model.safetensors"));
    EXPECT_EQ(r.config.num_hidden_layers, 2);
    EXPECT_EQ(r.config.hidden_size, 128);
    auto model = Model::load(a);
    for (const LinearInfo& l : model->info().linears) {
      if (!l.in_encoder()) continue;
      EXPECT_NEAR(l.sparsity(), 0.7, 1.0 / static_cast<double>(l.out_features * l.in_features))
          << l.name;
      if (pattern == SparsityPattern::block4) {
        EXPECT_NEAR(l.block4_sparsity(), 0.7, 1.0 / static_cast<double>(l.blocks4)) << l.name;
      }
    }
    // the tokenizer files and calibration text work with the rest of sparq
    auto pipeline = Pipeline::create(Task::text_classification, a, {});
    auto tokenizer = Tokenizer::load(a);
    const std::string line = test::read_file(a + "/calibration.txt").substr(0, 40);
    Encoding e = tokenizer->encode(line.substr(0, line.rfind(' ')));
    for (int32_t id : e.ids) EXPECT_NE(id, 100) << "unknown token in " << line;
  }
}

TEST(Synth, SparseInt8BertBaseWeighsUnderAQuarterOfDenseInt8) {
  SynthOptions o;
  o.arch = "bert-base";
  o.sparsity = 0.9;
  o.pattern = SparsityPattern::block4;
  const std::string dir = test::temp_dir("synth-base-s90");
  synthesize_model(o, dir);
  LoadOptions dense, sparse;
  dense.quantize = sparse.quantize = QuantizationSpec{};
  dense.sparse.mode = SparseMode::off;
  sparse.sparse.mode = SparseMode::force;
  const size_t dense_bytes = Model::load(dir, dense)->info().encoder_linear_bytes();
  const size_t sparse_bytes = Model::load(dir, sparse)->info().encoder_linear_bytes();
  RecordProperty("dense_int8_bytes", std::to_string(dense_bytes));
  RecordProperty("sparse_int8_bytes", std::to_string(sparse_bytes));
  EXPECT_LT(static_cast<double>(sparse_bytes), 0.25 * static_cast<double>(dense_bytes))
      << sparse_bytes << " of " << dense_bytes;
}

TEST(Synth, RejectsBadOptions) {
  const std::string dir = test::temp_dir("synth-bad");
  SynthOptions o;
  o.arch = "bert-huge";
  EXPECT_THROW(synthesize_model(o, dir), Error);
  o.arch = "bert-tiny";
  o.sparsity = 1.0;
  EXPECT_THROW(synthesize_model(o, dir), Error);
  o.sparsity = 0.5;
  o.num_labels = 0;
  EXPECT_THROW(synthesize_model(o, dir), Error);
  o.num_labels = 2;
  EXPECT_THROW(synthesize_model(o, "/proc/no-such-place/model"), Error);
}

}  // namespace
}  // namespace sparq
