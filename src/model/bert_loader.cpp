// Loads a Hugging Face BERT directory into the internal form, validating every tensor the
// architecture needs (present, floating point, shaped as config.json implies) and refusing
// tensors it does not know.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "io/mapped_file.h"
#include "kernels/gemm.h"
#include "model/model_impl.h"

namespace sparq::model {
namespace {

using io::DType;
using io::TensorInfo;

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_float_dtype(DType d) {
  return d == DType::F32 || d == DType::F16 || d == DType::BF16;
}

void convert_to_f32(const TensorInfo& t, float* out) {
  const uint64_t n = t.element_count;
  switch (t.dtype) {
    case DType::F32:
      std::memcpy(out, t.data, n * sizeof(float));
      break;
    case DType::F16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = core::f16_to_f32(h);
      }
      break;
    case DType::BF16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = core::bf16_to_f32(h);
      }
      break;
    default:
      fail("internal: convert_to_f32 on {}", io::dtype_name(t.dtype));
  }
}

// One tensor the architecture needs.
struct Expected {
  std::string name;  // as written in the file
  std::vector<int64_t> shape;
};

// Finds tensors by their Hugging Face names, with or without the "bert." prefix, and keeps track
// of which ones the model used.
class TensorSet {
 public:
  TensorSet(const io::SafetensorsFile& file, std::string config_hint)
      : file_(file), config_hint_(std::move(config_hint)) {
    if (file.find("bert.embeddings.word_embeddings.weight")) encoder_prefix_ = "bert.";
  }

  const std::string& encoder_prefix() const { return encoder_prefix_; }
  bool has_encoder(const std::string& name) const {
    return file_.find(encoder_name(name)) != nullptr;
  }
  bool has_head(const std::string& name) const { return file_.find(name) != nullptr; }
  std::string encoder_name(const std::string& name) const { return encoder_prefix_ + name; }

  // LayerNorm parameters may be called gamma/beta in checkpoints converted from TensorFlow.
  std::string layer_norm_name(const std::string& base, bool weight) const {
    std::string modern = encoder_name(base + (weight ? ".weight" : ".bias"));
    if (file_.find(modern)) return modern;
    std::string legacy = encoder_name(base + (weight ? ".gamma" : ".beta"));
    return file_.find(legacy) ? legacy : modern;
  }

  void expect(std::string name, std::vector<int64_t> shape) {
    expected_.push_back({std::move(name), std::move(shape)});
  }

  // Checks all expected tensors at once, so that one message lists everything missing.
  void check_expected() {
    std::vector<std::string> missing;
    for (const Expected& e : expected_)
      if (!file_.find(e.name)) missing.push_back(e.name);
    if (!missing.empty()) {
      std::string list;
      for (size_t i = 0; i < missing.size() && i < 4; ++i) list += (i ? ", " : "") + missing[i];
      if (missing.size() > 4) list += fmt::format(" and {} more", missing.size() - 4);
      fail("{}: missing tensor{} {}", file_.path(), missing.size() > 1 ? "s" : "", list);
    }
    for (const Expected& e : expected_) {
      const TensorInfo& t = *file_.find(e.name);
      if (!is_float_dtype(t.dtype))
        fail("{}: tensor '{}' has dtype {}; weights must be F32, F16 or BF16", file_.path(), e.name,
             io::dtype_name(t.dtype));
      if (t.shape != e.shape)
        fail("{}: tensor '{}' has shape {} but config.json ({}) implies {}", file_.path(), e.name,
             io::shape_string(t.shape), config_hint_, io::shape_string(e.shape));
      used_.insert(e.name);
    }
  }

  const TensorInfo& get(const std::string& name) const {
    const TensorInfo* t = file_.find(name);
    if (!t || !used_.count(name)) fail("internal: tensor '{}' was not checked", name);
    return *t;
  }

  // Everything in the file the model did not use: known leftovers are returned, others refused.
  std::vector<std::string> check_unused(const std::vector<std::string>& ignorable_prefixes) const {
    std::vector<std::string> ignored, unexpected;
    for (const TensorInfo& t : file_.tensors()) {
      if (used_.count(t.name)) continue;
      bool known = false;
      for (const auto& p : ignorable_prefixes) known = known || t.name.rfind(p, 0) == 0;
      // position_ids is a buffer some checkpoints carry, not a weight
      known = known || t.name == encoder_name("embeddings.position_ids");
      (known ? ignored : unexpected).push_back(t.name);
    }
    if (!unexpected.empty()) {
      std::string list;
      for (size_t i = 0; i < unexpected.size() && i < 4; ++i)
        list += (i ? ", " : "") + unexpected[i];
      if (unexpected.size() > 4) list += fmt::format(" and {} more", unexpected.size() - 4);
      fail("{}: unexpected tensor{} {} (not part of this {} model)", file_.path(),
           unexpected.size() > 1 ? "s" : "", list, "BERT");
    }
    return ignored;
  }

  int64_t used_parameters() const {
    int64_t n = 0;
    for (const auto& name : used_) n += static_cast<int64_t>(file_.find(name)->element_count);
    return n;
  }

  std::string used_dtypes() const {
    std::set<std::string> names;
    for (const auto& name : used_)
      names.insert(std::string(io::dtype_name(file_.find(name)->dtype)));
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : "+") + n;
    return s;
  }

 private:
  const io::SafetensorsFile& file_;
  std::string config_hint_;
  std::string encoder_prefix_;
  std::vector<Expected> expected_;
  std::set<std::string> used_;
};

TaskHead decide_head(const ModelConfig& config, const TensorSet& tensors,
                     const std::string& config_path, std::string& architecture) {
  const bool has_classifier = tensors.has_head("classifier.weight");
  const bool has_qa = tensors.has_head("qa_outputs.weight");
  const bool has_pooler = tensors.has_encoder("pooler.dense.weight");
  if (!config.architectures.empty()) {
    architecture = config.architectures.front();
    static const std::map<std::string, TaskHead> known = {
        {"BertForSequenceClassification", TaskHead::sequence_classification},
        {"BertForTokenClassification", TaskHead::token_classification},
        {"BertForQuestionAnswering", TaskHead::question_answering},
        {"BertModel", TaskHead::encoder},
        {"BertForMaskedLM", TaskHead::encoder},
        {"BertForPreTraining", TaskHead::encoder},
        {"BertLMHeadModel", TaskHead::encoder},
    };
    auto it = known.find(architecture);
    if (it == known.end())
      fail(
          "{}: architecture '{}' is not supported (BertModel, BertForSequenceClassification, "
          "BertForTokenClassification, BertForQuestionAnswering; masked-LM checkpoints load as "
          "encoders)",
          config_path, architecture);
    return it->second;
  }
  // No architectures list: the head tensors decide, as far as they can.
  if (has_qa) {
    architecture = "BertForQuestionAnswering";
    return TaskHead::question_answering;
  }
  if (has_classifier && has_pooler) {
    architecture = "BertForSequenceClassification";
    return TaskHead::sequence_classification;
  }
  if (has_classifier) {
    architecture = "BertForTokenClassification";
    return TaskHead::token_classification;
  }
  architecture = "BertModel";
  return TaskHead::encoder;
}

void count_sparsity(const float* w, int64_t out, int64_t in, LinearInfo& info) {
  info.out_features = out;
  info.in_features = in;
  info.zeros = 0;
  for (int64_t i = 0; i < out * in; ++i) info.zeros += w[i] == 0.0f;
  info.blocks4 = in % 4 == 0 ? out * in / 4 : 0;
  info.zero_blocks4 = 0;
  if (info.blocks4)
    for (int64_t i = 0; i < out * in; i += 4)
      info.zero_blocks4 += w[i] == 0.0f && w[i + 1] == 0.0f && w[i + 2] == 0.0f && w[i + 3] == 0.0f;
}

class Builder {
 public:
  Builder(TensorSet& tensors, const kernels::KernelTable& table, ModelInfo& info)
      : tensors_(tensors), table_(table), info_(info) {}

  // Stacks the given [out_i, in] weights (e.g. query, key, value) into one Linear.
  Linear linear(const std::vector<std::string>& bases,
                const std::vector<std::string>& display_names, bool encoder_names) {
    Linear l;
    std::vector<const TensorInfo*> weights, biases;
    for (const auto& base : bases) {
      std::string prefix = encoder_names ? tensors_.encoder_name(base) : base;
      weights.push_back(&tensors_.get(prefix + ".weight"));
      biases.push_back(&tensors_.get(prefix + ".bias"));
    }
    l.in_features = weights[0]->shape[1];
    for (const auto* w : weights) l.out_features += w->shape[0];
    std::vector<float> stacked(static_cast<size_t>(l.out_features * l.in_features));
    l.bias.resize(static_cast<size_t>(l.out_features));
    int64_t row = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
      float* dst = stacked.data() + row * l.in_features;
      convert_to_f32(*weights[i], dst);
      convert_to_f32(*biases[i], l.bias.data() + row);
      LinearInfo li;
      li.name = display_names[i];
      count_sparsity(dst, weights[i]->shape[0], l.in_features, li);
      li.kernel = table_.f32_gemm_name;
      info_.linears.push_back(li);
      row += weights[i]->shape[0];
    }
    l.packed_weight.resize(kernels::packed_b_floats(l.out_features, l.in_features, table_.gemm_nr));
    kernels::pack_b_transposed(stacked.data(), l.in_features, l.out_features, l.in_features,
                               table_.gemm_nr, l.packed_weight.data());
    return l;
  }

  LayerNorm layer_norm(const std::string& base) {
    LayerNorm n;
    const TensorInfo& g = tensors_.get(tensors_.layer_norm_name(base, true));
    const TensorInfo& b = tensors_.get(tensors_.layer_norm_name(base, false));
    n.gamma.resize(g.element_count);
    n.beta.resize(b.element_count);
    convert_to_f32(g, n.gamma.data());
    convert_to_f32(b, n.beta.data());
    return n;
  }

  // F32 data aligned for float access is used in place from the mapping; anything else is
  // converted once.
  FloatMatrix matrix(const std::string& name) {
    const TensorInfo& t = tensors_.get(name);
    FloatMatrix m;
    m.rows = t.shape[0];
    m.cols = t.shape[1];
    if (t.dtype == DType::F32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
      m.data = reinterpret_cast<const float*>(t.data);
    } else {
      m.owned.resize(t.element_count);
      convert_to_f32(t, m.owned.data());
      m.data = m.owned.data();
    }
    return m;
  }

 private:
  TensorSet& tensors_;
  const kernels::KernelTable& table_;
  ModelInfo& info_;
};

kernels::Activation activation_for(HiddenAct act) {
  switch (act) {
    case HiddenAct::gelu:
      return kernels::Activation::gelu_erf;
    case HiddenAct::gelu_tanh:
      return kernels::Activation::gelu_tanh;
    case HiddenAct::relu:
      return kernels::Activation::relu;
  }
  return kernels::Activation::gelu_erf;
}

}  // namespace

std::unique_ptr<Model::Impl> load_bert_directory(const std::string& directory,
                                                 const kernels::KernelTable& table) {
  const auto start = std::chrono::steady_clock::now();
  struct stat st {};
  if (::stat(directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail("model directory {} does not exist", directory);
  const std::string config_path = directory + "/config.json";
  const std::string weights_path = directory + "/model.safetensors";
  if (!file_exists(config_path)) fail("{} has no config.json", directory);
  if (!file_exists(weights_path)) {
    if (file_exists(directory + "/model.safetensors.index.json"))
      fail(
          "{}: sharded safetensors checkpoints are not supported yet; save the model as one "
          "model.safetensors",
          directory);
    if (file_exists(directory + "/pytorch_model.bin"))
      fail(
          "{} has only pytorch_model.bin; sparq reads model.safetensors (convert with "
          "model.save_pretrained(dir, safe_serialization=True))",
          directory);
    fail("{} has no model.safetensors", directory);
  }

  auto impl = std::make_unique<Model::Impl>();
  BertModel& m = impl->bert;
  ModelInfo& info = impl->info;
  m.config = parse_model_config(io::read_text_file(config_path), config_path);
  const ModelConfig& c = m.config;
  m.kernels = &table;
  m.hidden_activation = activation_for(c.hidden_act);
  m.file = std::make_unique<io::SafetensorsFile>(weights_path);

  const int64_t H = c.hidden_size, I = c.intermediate_size;
  TensorSet tensors(*m.file,
                    fmt::format("hidden_size {}, intermediate_size {}, vocab_size {}, "
                                "max_position_embeddings {}, type_vocab_size {}, {} labels",
                                H, I, c.vocab_size, c.max_position_embeddings, c.type_vocab_size,
                                c.num_labels()));
  m.head = decide_head(c, tensors, config_path, info.architecture);
  const bool wants_pooler =
      m.head == TaskHead::sequence_classification ||
      (m.head == TaskHead::encoder && tensors.has_encoder("pooler.dense.weight"));
  m.has_pooler = wants_pooler;

  auto expect_linear = [&](const std::string& base, int64_t out, int64_t in, bool encoder) {
    std::string name = encoder ? tensors.encoder_name(base) : base;
    tensors.expect(name + ".weight", {out, in});
    tensors.expect(name + ".bias", {out});
  };
  auto expect_norm = [&](const std::string& base) {
    tensors.expect(tensors.layer_norm_name(base, true), {H});
    tensors.expect(tensors.layer_norm_name(base, false), {H});
  };
  tensors.expect(tensors.encoder_name("embeddings.word_embeddings.weight"), {c.vocab_size, H});
  tensors.expect(tensors.encoder_name("embeddings.position_embeddings.weight"),
                 {c.max_position_embeddings, H});
  tensors.expect(tensors.encoder_name("embeddings.token_type_embeddings.weight"),
                 {c.type_vocab_size, H});
  expect_norm("embeddings.LayerNorm");
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    std::string p = fmt::format("encoder.layer.{}.", l);
    expect_linear(p + "attention.self.query", H, H, true);
    expect_linear(p + "attention.self.key", H, H, true);
    expect_linear(p + "attention.self.value", H, H, true);
    expect_linear(p + "attention.output.dense", H, H, true);
    expect_norm(p + "attention.output.LayerNorm");
    expect_linear(p + "intermediate.dense", I, H, true);
    expect_linear(p + "output.dense", H, I, true);
    expect_norm(p + "output.LayerNorm");
  }
  if (wants_pooler) expect_linear("pooler.dense", H, H, true);
  if (m.head == TaskHead::sequence_classification || m.head == TaskHead::token_classification)
    expect_linear("classifier", c.num_labels(), H, false);
  if (m.head == TaskHead::question_answering) expect_linear("qa_outputs", 2, H, false);
  tensors.check_expected();
  // Heads this architecture does not run (MLM/NSP heads, a pooler under a token head) are
  // reported, not loaded.
  info.ignored_tensors = tensors.check_unused({"cls.", tensors.encoder_name("pooler.")});

  Builder build(tensors, table, info);
  m.word_embeddings = build.matrix(tensors.encoder_name("embeddings.word_embeddings.weight"));
  m.position_embeddings =
      build.matrix(tensors.encoder_name("embeddings.position_embeddings.weight"));
  m.token_type_embeddings =
      build.matrix(tensors.encoder_name("embeddings.token_type_embeddings.weight"));
  m.embedding_norm = build.layer_norm("embeddings.LayerNorm");
  m.layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    std::string p = fmt::format("encoder.layer.{}.", l);
    EncoderLayer& layer = m.layers[static_cast<size_t>(l)];
    layer.qkv = build.linear(
        {p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"},
        {p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"}, true);
    layer.attention_output =
        build.linear({p + "attention.output.dense"}, {p + "attention.output.dense"}, true);
    layer.attention_norm = build.layer_norm(p + "attention.output.LayerNorm");
    layer.intermediate = build.linear({p + "intermediate.dense"}, {p + "intermediate.dense"}, true);
    layer.output = build.linear({p + "output.dense"}, {p + "output.dense"}, true);
    layer.output_norm = build.layer_norm(p + "output.LayerNorm");
  }
  if (wants_pooler) m.pooler = build.linear({"pooler.dense"}, {"pooler.dense"}, true);
  if (m.head == TaskHead::sequence_classification || m.head == TaskHead::token_classification)
    m.classifier = build.linear({"classifier"}, {"classifier"}, false);
  if (m.head == TaskHead::question_answering)
    m.classifier = build.linear({"qa_outputs"}, {"qa_outputs"}, false);

  info.directory = directory;
  info.head = m.head;
  info.has_pooler = m.has_pooler;
  info.bert_prefix = tensors.encoder_prefix() == "bert.";
  info.weights_dtype = tensors.used_dtypes();
  info.parameter_count = tensors.used_parameters();
  info.file_bytes = m.file->file_size();
  size_t resident = m.word_embeddings.bytes() + m.position_embeddings.bytes() +
                    m.token_type_embeddings.bytes() + m.embedding_norm.gamma.bytes() * 2;
  for (const auto& layer : m.layers)
    resident += layer.qkv.resident_bytes() + layer.attention_output.resident_bytes() +
                layer.intermediate.resident_bytes() + layer.output.resident_bytes() +
                4 * layer.attention_norm.gamma.bytes();
  resident += m.pooler.resident_bytes() + m.classifier.resident_bytes();
  info.resident_weight_bytes = resident;
  info.isa = table.isa_name;
  info.gemm_kernel = table.f32_gemm_name;
  info.layernorm_kernel = table.f32_layernorm_name;
  info.softmax_kernel = table.f32_softmax_name;
  info.load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return impl;
}

}  // namespace sparq::model
