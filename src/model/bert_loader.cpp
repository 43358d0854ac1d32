// Loads a Hugging Face BERT directory into the internal form, validating every tensor the
// architecture needs (present, floating point, shaped as config.json implies) and refusing
// tensors it does not know.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/mapped_file.h"
#include "kernels/gemm.h"
#include "kernels/qgemm.h"
#include "model/model_impl.h"
#include "quant/spec_io.h"
#include "sparse/sparse_choice.h"
#include "sparse/sparse_weights.h"

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

// One tensor the architecture needs.
enum class DTypeClass { floating, int8, f32 };
struct Expected {
  std::string name;  // as written in the file
  std::vector<int64_t> shape;
  DTypeClass dtype = DTypeClass::floating;
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

  void expect(std::string name, std::vector<int64_t> shape,
              DTypeClass dtype = DTypeClass::floating) {
    expected_.push_back({std::move(name), std::move(shape), dtype});
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
      if (e.dtype == DTypeClass::floating && !is_float_dtype(t.dtype))
        fail("{}: tensor '{}' has dtype {}; weights must be F32, F16 or BF16", file_.path(), e.name,
             io::dtype_name(t.dtype));
      if (e.dtype == DTypeClass::int8 && t.dtype != DType::I8)
        fail("{}: tensor '{}' has dtype {}; quantization.json makes it an I8 weight", file_.path(),
             e.name, io::dtype_name(t.dtype));
      if (e.dtype == DTypeClass::f32 && t.dtype != DType::F32)
        fail("{}: tensor '{}' has dtype {}; weight scales are F32", file_.path(), e.name,
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
    for (const auto& name : used_)
      if (!name.ends_with(".weight_scale"))
        n += static_cast<int64_t>(file_.find(name)->element_count);
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

void describe_structure(const sparse::WeightStructure& s, LinearInfo& info) {
  info.out_features = s.rows;
  info.in_features = s.cols;
  info.zeros = s.zeros;
  info.blocks4 = s.blocks4;
  info.zero_blocks4 = s.zero_blocks4;
  info.zero_rows = s.zero_rows;
  info.zero_columns = s.zero_columns;
}

class Builder {
 public:
  Builder(TensorSet& tensors, const kernels::KernelTable& table, const SparseOptions& sparse,
          ModelInfo& info)
      : tensors_(tensors), table_(table), sparse_(sparse), info_(info) {}

  // Stacks the given [out_i, in] weights (e.g. query, key, value) into one Linear: INT8 when the
  // spec says so (read from I8 tensors when the file is quantized, else quantized here), fp32
  // otherwise; sparse when allowed and the sparse options choose it for the stacked weight.
  Linear linear(const std::vector<std::string>& bases, bool encoder_names,
                const QuantizationSpec* spec, bool file_is_int8, bool may_be_sparse) {
    Linear l;
    const size_t first_info = info_.linears.size();
    std::vector<const TensorInfo*> weights, biases, scales, smoothing;
    const bool int8 = spec && encoder_names && spec->is_int8(bases[0]);
    for (const auto& base : bases) {
      if (spec && encoder_names && spec->is_int8(base) != int8)
        fail("{}: {} and {} read the same input and must share one precision", info_.directory,
             bases[0], base);
      std::string prefix = encoder_names ? tensors_.encoder_name(base) : base;
      weights.push_back(&tensors_.get(prefix + ".weight"));
      biases.push_back(&tensors_.get(prefix + ".bias"));
      if (int8 && file_is_int8) scales.push_back(&tensors_.get(prefix + ".weight_scale"));
      if (int8 && file_is_int8 && spec->smoothing_alpha > 0)
        smoothing.push_back(&tensors_.get(prefix + ".input_smoothing"));
    }
    l.in_features = weights[0]->shape[1];
    for (const auto* w : weights) l.out_features += w->shape[0];
    l.bias.resize(static_cast<size_t>(l.out_features));
    const int64_t in = l.in_features;
    std::vector<float> stacked;
    std::vector<int8_t> stacked_q;
    (int8 ? stacked_q.resize(static_cast<size_t>(l.out_features * in))
          : stacked.resize(static_cast<size_t>(l.out_features * in)));
    if (int8) l.weight_scales.resize(static_cast<size_t>(l.out_features));
    int64_t row = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
      const int64_t rows = weights[i]->shape[0];
      io::read_as_f32(*biases[i], l.bias.data() + row);
      LinearInfo li;
      li.name = bases[i];
      if (int8) {
        int8_t* dst = stacked_q.data() + row * in;
        float* row_scales = l.weight_scales.data() + row;
        if (file_is_int8) {
          std::memcpy(dst, weights[i]->data, static_cast<size_t>(rows * in));
          std::vector<float> s(scales[i]->element_count);
          io::read_as_f32(*scales[i], s.data());
          for (float v : s)
            if (!(v > 0.0f) || !std::isfinite(v))
              fail("{}: tensor '{}' holds a weight scale that is not a positive number",
                   info_.directory, scales[i]->name);
          for (int64_t r = 0; r < rows; ++r)
            row_scales[r] = s.size() == 1 ? s[0] : s[static_cast<size_t>(r)];
        } else {
          const LinearQuantization* layer =
              spec->layers.count(bases[i]) ? &spec->layers.at(bases[i]) : nullptr;
          if (layer && !layer->weight.empty()) {  // rounded by calibration already
            if (static_cast<int64_t>(layer->weight.size()) != rows * in ||
                layer->weight_scales.size() != (spec->per_channel ? static_cast<size_t>(rows) : 1))
              fail("{}: the quantized weights of {} do not fit its shape", info_.directory,
                   bases[i]);
            std::memcpy(dst, layer->weight.data(), layer->weight.size());
            for (int64_t r = 0; r < rows; ++r)
              row_scales[r] = layer->weight_scales[spec->per_channel ? static_cast<size_t>(r) : 0];
            describe_structure(sparse::measure_structure(dst, rows, in), li);
            li.precision = "int8";
            li.activations = activation_mode_name(spec->activations);
            info_.linears.push_back(li);
            row += rows;
            continue;
          }
          std::vector<float> w(static_cast<size_t>(rows * in)),
              s(spec->per_channel ? static_cast<size_t>(rows) : 1);
          io::read_as_f32(*weights[i], w.data());
          const std::vector<float>& factors = spec->layers.count(bases[i])
                                                  ? spec->layers.at(bases[i]).smoothing
                                                  : std::vector<float>{};
          if (!factors.empty()) {
            if (static_cast<int64_t>(factors.size()) != in)
              fail("{}: {} smoothing factors for {} input channels of {}", info_.directory,
                   factors.size(), in, bases[i]);
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t j = 0; j < in; ++j)
                w[static_cast<size_t>(r * in + j)] *= factors[static_cast<size_t>(j)];
          }
          quantize_weight_symmetric(w.data(), rows, in, spec->per_channel, dst, s.data());
          for (int64_t r = 0; r < rows; ++r)
            row_scales[r] = spec->per_channel ? s[static_cast<size_t>(r)] : s[0];
        }
        describe_structure(sparse::measure_structure(dst, rows, in), li);
        li.precision = "int8";
        li.activations = activation_mode_name(spec->activations);
      } else {
        float* dst = stacked.data() + row * in;
        io::read_as_f32(*weights[i], dst);
        describe_structure(sparse::measure_structure(dst, rows, in), li);
      }
      info_.linears.push_back(li);
      row += rows;
    }
    const sparse::WeightStructure structure =
        int8 ? sparse::measure_structure(stacked_q.data(), l.out_features, in)
             : sparse::measure_structure(stacked.data(), l.out_features, in);
    const sparse::LayerChoice choice = may_be_sparse
                                           ? sparse::choose_layer(table_, structure, int8, sparse_)
                                           : sparse::LayerChoice{};
    l.sparse = choice.sparse;
    if (!int8) {
      if (l.sparse) {
        l.sparse_weight =
            sparse::pack_sparse_f32(table_, stacked.data(), l.out_features, in, choice.block);
      } else {
        l.packed_weight.resize(kernels::packed_b_floats(l.out_features, in, table_.gemm_nr));
        kernels::pack_b_transposed(stacked.data(), in, l.out_features, in, table_.gemm_nr,
                                   l.packed_weight.data());
      }
      describe_kernel(l, choice, first_info);
      return l;
    }
    l.int8 = true;
    l.per_channel = true;  // per-tensor scales are expanded, so fused parts keep their own
    // smoothing: the inverse factors multiply the input; every part reads that same input
    std::vector<float> factors;
    if (file_is_int8 && !smoothing.empty()) {
      factors.resize(smoothing[0]->element_count);
      io::read_as_f32(*smoothing[0], factors.data());
      for (const auto* t : smoothing) {
        std::vector<float> other(t->element_count);
        io::read_as_f32(*t, other.data());
        if (other != factors)
          fail("{}: {} and {} read the same input and must share its smoothing factors",
               info_.directory, bases[0], t->name);
      }
    } else if (!file_is_int8 && spec->layers.count(bases[0])) {
      factors = spec->layers.at(bases[0]).smoothing;
      for (const auto& base : bases)
        if (spec->layers.count(base) && spec->layers.at(base).smoothing != factors)
          fail("{}: {} and {} read the same input and must share its smoothing factors",
               info_.directory, bases[0], base);
    }
    if (!factors.empty()) {
      l.input_smoothing.resize(factors.size());
      for (size_t j = 0; j < factors.size(); ++j) {
        if (!(factors[j] > 0.0f) || !std::isfinite(factors[j]))
          fail("{}: a smoothing factor of {} is not a positive number", info_.directory, bases[0]);
        l.input_smoothing[j] = 1.0f / factors[j];
      }
    }
    l.dynamic_input = spec->activations == ActivationMode::dynamic;
    if (!l.dynamic_input) {
      const LinearQuantization& first = spec->layers.at(bases[0]);
      for (const auto& base : bases) {
        const LinearQuantization& q = spec->layers.at(base);
        if (q.input_scale != first.input_scale || q.input_zero_point != first.input_zero_point)
          fail("{}: {} and {} read the same input and must share its quantization parameters",
               info_.directory, bases[0], base);
      }
      l.input_scale = first.input_scale;
      l.input_zero_point = first.input_zero_point;
    }
    l.column_sums.resize(static_cast<size_t>(l.out_features));
    if (l.sparse) {
      l.sparse_weight = sparse::pack_sparse_s8(table_, stacked_q.data(), l.out_features, in);
      kernels::weight_row_sums(stacked_q.data(), in, l.out_features, in, l.column_sums.data());
    } else {
      l.packed_qweight.resize(
          kernels::packed_qb_bytes(l.out_features, in, table_.qgemm_nr, table_.qgemm_kgroup));
      kernels::pack_qb_transposed(stacked_q.data(), in, l.out_features, in, table_.qgemm_nr,
                                  table_.qgemm_kgroup, l.packed_qweight.data(),
                                  l.column_sums.data());
    }
    describe_kernel(l, choice, first_info);
    return l;
  }

  // Records the chosen kernel on the checkpoint weights the Linear stacks (info_.linears from
  // `first` on), with each weight's share of the packed bytes.
  void describe_kernel(const Linear& l, const sparse::LayerChoice& choice, size_t first) {
    for (size_t i = first; i < info_.linears.size(); ++i) {
      LinearInfo& li = info_.linears[i];
      li.kernel = l.sparse ? (l.int8 ? table_.u8s8_spmm_name : table_.f32_spmm_name)
                           : (l.int8 ? table_.u8s8_gemm_name : table_.f32_gemm_name);
      li.format = l.sparse ? "sparse" : "dense";
      li.block = l.sparse ? l.sparse_weight.block : 0;
      li.predicted_speedup = choice.predicted_speedup;
      li.resident_bytes = static_cast<size_t>(static_cast<double>(l.resident_bytes()) *
                                              static_cast<double>(li.out_features) /
                                              static_cast<double>(l.out_features));
    }
  }

  LayerNorm layer_norm(const std::string& base) {
    LayerNorm n;
    const TensorInfo& g = tensors_.get(tensors_.layer_norm_name(base, true));
    const TensorInfo& b = tensors_.get(tensors_.layer_norm_name(base, false));
    n.gamma.resize(g.element_count);
    n.beta.resize(b.element_count);
    io::read_as_f32(g, n.gamma.data());
    io::read_as_f32(b, n.beta.data());
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
      io::read_as_f32(t, m.owned.data());
      m.data = m.owned.data();
    }
    return m;
  }

 private:
  TensorSet& tensors_;
  const kernels::KernelTable& table_;
  const SparseOptions& sparse_;
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

std::vector<std::string> encoder_linear_names(int64_t layers) {
  std::vector<std::string> names;
  for (int64_t l = 0; l < layers; ++l)
    for (LinearSlot slot : {LinearSlot::qkv, LinearSlot::attention_output, LinearSlot::intermediate,
                            LinearSlot::output})
      for (auto& n : linear_names(l, slot)) names.push_back(std::move(n));
  return names;
}

std::vector<std::string> linear_names(int64_t layer, LinearSlot slot) {
  const std::string p = fmt::format("encoder.layer.{}.", layer);
  switch (slot) {
    case LinearSlot::qkv:
      return {p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"};
    case LinearSlot::attention_output:
      return {p + "attention.output.dense"};
    case LinearSlot::intermediate:
      return {p + "intermediate.dense"};
    case LinearSlot::output:
      return {p + "output.dense"};
  }
  return {};
}

std::unique_ptr<Model::Impl> load_bert_directory(const std::string& directory,
                                                 const kernels::KernelTable& table,
                                                 const LoadOptions& options) {
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

  // INT8: either stored (quantization.json beside the weights) or requested for this load
  const std::vector<std::string> quantizable = encoder_linear_names(c.num_hidden_layers);
  const std::string quantization_path = directory + "/" + quant::kQuantizationFile;
  const bool file_is_int8 = file_exists(quantization_path);
  if (file_is_int8) {
    if (options.quantize)
      fail("{} is already quantized (it has {}); quantize its fp32 source instead", directory,
           quant::kQuantizationFile);
    m.quantization = quant::read_quantization_json(quantization_path, quantizable);
  } else if (options.quantize) {
    m.quantization = options.quantize;
    if (m.quantization->activations == ActivationMode::static_range)
      for (const auto& name : quantizable)
        if (!m.quantization->layers.count(name))
          fail("static INT8 quantization has no calibrated parameters for {}", name);
  }
  const QuantizationSpec* spec = m.quantization ? &*m.quantization : nullptr;
  m.int8_attention = options.int8_attention || (spec && spec->int8_attention);
  info.attention = m.int8_attention ? "int8" : "fp32";
  info.directory = directory;
  info.read_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

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
    const bool stored_int8 =
        file_is_int8 && spec->is_int8(base) &&
        std::find(quantizable.begin(), quantizable.end(), base) != quantizable.end();
    tensors.expect(name + ".weight", {out, in},
                   stored_int8 ? DTypeClass::int8 : DTypeClass::floating);
    if (stored_int8)
      tensors.expect(name + ".weight_scale", {spec->per_channel ? out : 1}, DTypeClass::f32);
    if (stored_int8 && spec->smoothing_alpha > 0)
      tensors.expect(name + ".input_smoothing", {in}, DTypeClass::f32);
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

  if (options.sparse.mode == SparseMode::automatic && options.sparse.threshold > 1.0)
    fail("sparse threshold {} is not a fraction of zero weights in [0, 1]",
         options.sparse.threshold);
  Builder build(tensors, table, options.sparse, info);
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
    auto encoder_linear = [&](LinearSlot slot) {
      return build.linear(linear_names(l, slot), true, spec, file_is_int8, true);
    };
    layer.qkv = encoder_linear(LinearSlot::qkv);
    layer.attention_output = encoder_linear(LinearSlot::attention_output);
    layer.attention_norm = build.layer_norm(p + "attention.output.LayerNorm");
    layer.intermediate = encoder_linear(LinearSlot::intermediate);
    layer.output = encoder_linear(LinearSlot::output);
    layer.output_norm = build.layer_norm(p + "output.LayerNorm");
  }
  // the pooler and the task head stay fp32: one row per sequence, where INT8 gains nothing
  // (and dense: their few rows gain nothing from sparse kernels either)
  if (wants_pooler) m.pooler = build.linear({"pooler.dense"}, true, nullptr, false, false);
  if (m.head == TaskHead::sequence_classification || m.head == TaskHead::token_classification)
    m.classifier = build.linear({"classifier"}, false, nullptr, false, false);
  if (m.head == TaskHead::question_answering)
    m.classifier = build.linear({"qa_outputs"}, false, nullptr, false, false);

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
  info.int8_gemm_kernel = table.u8s8_gemm_name;
  info.f32_sparse_kernel = table.f32_spmm_name;
  info.int8_sparse_kernel = table.u8s8_spmm_name;
  info.sparse_mode = options.sparse.mode == SparseMode::automatic && options.sparse.threshold >= 0
                         ? fmt::format("auto, threshold {:g}", options.sparse.threshold)
                         : sparse_mode_name(options.sparse.mode);
  if (spec) {
    size_t int8_layers = 0;
    for (const auto& name : quantizable) int8_layers += spec->is_int8(name);
    info.quantization = fmt::format(
        "int8 {} of {} encoder Linear layers, {} weights, {} activations{}", int8_layers,
        quantizable.size(), spec->per_channel ? "per-channel" : "per-tensor",
        activation_mode_name(spec->activations),
        spec->activations == ActivationMode::static_range
            ? fmt::format(" ({})", calibration_method_name(spec->method))
            : "");
  }
  info.load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return impl;
}

}  // namespace sparq::model
