#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <list>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "io/safetensors.h"
#include "sparq/quantization.h"
#include "sparq/synth.h"
#include "sparse/pruning.h"

namespace sparq {
namespace {

namespace fs = std::filesystem;

struct StandardShape {
  const char* name;
  int64_t layers, hidden, heads;
};

// Google's BERT miniatures (Turc et al., 2019) and the two original sizes.
constexpr StandardShape kStandardShapes[] = {
    {"bert-tiny", 2, 128, 2},   {"bert-mini", 4, 256, 4},   {"bert-small", 4, 512, 8},
    {"bert-medium", 8, 512, 8}, {"bert-base", 12, 768, 12}, {"bert-large", 24, 1024, 16},
};

constexpr float kInitStd = 0.02f;  // BERT's initializer_range

// SplitMix64: fast, seedable and the same on every platform, unlike std::normal_distribution.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  // Box-Muller, both outputs used
  void normals(float* out, int64_t n, float stddev) {
    for (int64_t i = 0; i < n; i += 2) {
      const double u1 = 1.0 - uniform(), u2 = uniform();
      const double r = std::sqrt(-2.0 * std::log(u1)) * stddev;
      out[i] = static_cast<float>(r * std::cos(2.0 * M_PI * u2));
      if (i + 1 < n) out[i + 1] = static_cast<float>(r * std::sin(2.0 * M_PI * u2));
    }
  }

 private:
  uint64_t state_;
};

// Holds every tensor until the file is written.
class TensorSet {
 public:
  float* add(const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    storage_.emplace_back(static_cast<size_t>(n));
    shapes_.emplace_back(name, std::move(shape));
    return storage_.back().data();
  }
  float* add_normal(const std::string& name, std::vector<int64_t> shape, Random& rng) {
    float* p = add(name, shape);
    rng.normals(p, static_cast<int64_t>(storage_.back().size()), kInitStd);
    return p;
  }
  float* add_constant(const std::string& name, std::vector<int64_t> shape, float value) {
    float* p = add(name, shape);
    std::fill(storage_.back().begin(), storage_.back().end(), value);
    return p;
  }
  int64_t parameters() const {
    int64_t n = 0;
    for (const auto& s : storage_) n += static_cast<int64_t>(s.size());
    return n;
  }
  void write(const std::string& path) const {
    std::vector<io::TensorToWrite> tensors;
    auto it = storage_.begin();
    for (const auto& [name, shape] : shapes_) {
      tensors.push_back({name, io::DType::F32, shape, it->data(), it->size() * sizeof(float)});
      ++it;
    }
    io::write_safetensors(path, tensors, {{"format", "pt"}, {"generator", "sparq synth"}});
  }

 private:
  std::list<std::vector<float>> storage_;  // stable addresses
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes_;
};

// A WordPiece vocabulary laid out like bert-base-uncased's (special ids 0 and 100-103), filled
// with single characters, their ## continuations and pronounceable made-up words, so text made of
// those words tokenizes to whole-word ids.
std::vector<std::string> synthetic_vocabulary(int64_t size, std::vector<std::string>& words) {
  std::vector<std::string> vocab = {"[PAD]"};
  for (int i = 0; i < 99; ++i) vocab.push_back(fmt::format("[unused{}]", i));
  for (const char* special : {"[UNK]", "[CLS]", "[SEP]", "[MASK]"}) vocab.push_back(special);
  std::set<std::string> seen(vocab.begin(), vocab.end());
  auto add = [&](const std::string& token) {
    if (static_cast<int64_t>(vocab.size()) < size && seen.insert(token).second)
      vocab.push_back(token);
  };
  for (char c = 33; c < 127; ++c)
    if (!(c >= 'A' && c <= 'Z')) add(std::string(1, c));
  for (char c = 'a'; c <= 'z'; ++c) add("##" + std::string(1, c));
  for (char c = '0'; c <= '9'; ++c) add("##" + std::string(1, c));
  const std::string consonants = "bcdfghjklmnprstvwz", vowels = "aeiou";
  std::vector<std::string> syllables;
  for (char c : consonants)
    for (char v : vowels) syllables.push_back({c, v});
  Random rng(0x5eed);
  while (static_cast<int64_t>(vocab.size()) < size) {
    const int n = 1 + static_cast<int>(rng.next() % 4);
    std::string word;
    for (int i = 0; i < n; ++i) word += syllables[rng.next() % syllables.size()];
    const size_t before = vocab.size();
    add(rng.next() % 8 == 0 ? "##" + word : word);
    if (vocab.size() > before && vocab.back()[0] != '#') words.push_back(vocab.back());
  }
  return vocab;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out.flush()) fail("cannot write {}", path.string());
}

void write_lines(const fs::path& path, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  write_text(path, text);
}

nlohmann::json config_json(const ModelConfig& c, const std::string& arch) {
  nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
  for (size_t i = 0; i < c.id2label.size(); ++i) {
    id2label[std::to_string(i)] = c.id2label[i];
    label2id[c.id2label[i]] = i;
  }
  return {{"architectures", {"BertForSequenceClassification"}},
          {"model_type", "bert"},
          {"_name_or_path", "sparq-synth/" + arch},
          {"vocab_size", c.vocab_size},
          {"hidden_size", c.hidden_size},
          {"num_hidden_layers", c.num_hidden_layers},
          {"num_attention_heads", c.num_attention_heads},
          {"intermediate_size", c.intermediate_size},
          {"hidden_act", "gelu"},
          {"hidden_dropout_prob", 0.1},
          {"attention_probs_dropout_prob", 0.1},
          {"max_position_embeddings", c.max_position_embeddings},
          {"type_vocab_size", c.type_vocab_size},
          {"initializer_range", kInitStd},
          {"layer_norm_eps", c.layer_norm_eps},
          {"pad_token_id", 0},
          {"id2label", id2label},
          {"label2id", label2id}};
}

// Writes the fp32 model and its tokenizer and calibration files; counts parameters and encoder
// Linear zeros into the report.
void write_fp32_model(const SynthOptions& o, const ModelConfig& c, const fs::path& dir,
                      SynthReport& report) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create {}: {}", dir.string(), ec.message());
  Random rng(o.seed);
  TensorSet t;
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  const auto pattern = o.pattern == SparsityPattern::block4 ? sparse::Pattern::block4
                                                            : sparse::Pattern::unstructured;
  t.add_normal("bert.embeddings.word_embeddings.weight", {c.vocab_size, H}, rng);
  t.add_normal("bert.embeddings.position_embeddings.weight", {c.max_position_embeddings, H}, rng);
  t.add_normal("bert.embeddings.token_type_embeddings.weight", {c.type_vocab_size, H}, rng);
  auto layer_norm = [&](const std::string& prefix) {
    t.add_constant(prefix + ".LayerNorm.weight", {H}, 1.0f);
    t.add_constant(prefix + ".LayerNorm.bias", {H}, 0.0f);
  };
  layer_norm("bert.embeddings");
  uint64_t linear_index = 0;
  auto linear = [&](const std::string& name, int64_t out, int64_t in, bool prune) {
    float* w = t.add_normal(name + ".weight", {out, in}, rng);
    t.add_normal(name + ".bias", {out}, rng);
    if (!prune) return;
    sparse::prune_random(w, out, in, o.sparsity, pattern, o.seed * 1000003u + linear_index++);
    report.encoder_linear_weights += out * in;
    for (int64_t i = 0; i < out * in; ++i) report.encoder_linear_zeros += w[i] == 0.0f;
  };
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    if (o.progress) o.progress(fmt::format("layer {}/{}", l + 1, c.num_hidden_layers));
    const std::string p = fmt::format("bert.encoder.layer.{}", l);
    for (const char* qkv : {"query", "key", "value"})
      linear(p + ".attention.self." + qkv, H, H, true);
    linear(p + ".attention.output.dense", H, H, true);
    layer_norm(p + ".attention.output");
    linear(p + ".intermediate.dense", I, H, true);
    linear(p + ".output.dense", H, I, true);
    layer_norm(p + ".output");
  }
  linear("bert.pooler.dense", H, H, false);
  linear("classifier", c.num_labels(), H, false);
  report.parameters = t.parameters();
  if (o.progress) o.progress("writing model.safetensors");
  t.write((dir / "model.safetensors").string());
  write_text(dir / "config.json", config_json(c, o.arch).dump(2) + "\n");

  std::vector<std::string> words;
  write_lines(dir / "vocab.txt", synthetic_vocabulary(c.vocab_size, words));
  write_text(dir / "tokenizer_config.json",
             nlohmann::json{{"do_lower_case", true},
                            {"tokenize_chinese_chars", true},
                            {"strip_accents", nullptr},
                            {"model_max_length", c.max_position_embeddings},
                            {"tokenizer_class", "BertTokenizer"},
                            {"unk_token", "[UNK]"},
                            {"sep_token", "[SEP]"},
                            {"pad_token", "[PAD]"},
                            {"cls_token", "[CLS]"},
                            {"mask_token", "[MASK]"}}
                     .dump(2) +
                 "\n");
  write_text(dir / "special_tokens_map.json", nlohmann::json{{"unk_token", "[UNK]"},
                                                             {"sep_token", "[SEP]"},
                                                             {"pad_token", "[PAD]"},
                                                             {"cls_token", "[CLS]"},
                                                             {"mask_token", "[MASK]"}}
                                                      .dump(2) +
                                                  "\n");
  std::vector<std::string> sentences;
  Random text_rng(o.seed ^ 0x7e47u);
  for (int64_t i = 0; i < o.calibration_lines; ++i) {
    const int64_t n = 6 + static_cast<int64_t>(text_rng.next() % 40);
    std::string s;
    for (int64_t w = 0; w < n; ++w) {
      if (w) s += ' ';
      s += words[text_rng.next() % words.size()];
    }
    sentences.push_back(s + " .");
  }
  write_lines(dir / "calibration.txt", sentences);
}

}  // namespace

std::optional<SparsityPattern> parse_sparsity_pattern(std::string_view name) {
  if (name == "unstructured") return SparsityPattern::unstructured;
  if (name == "block4") return SparsityPattern::block4;
  return std::nullopt;
}

const char* sparsity_pattern_name(SparsityPattern pattern) {
  return pattern == SparsityPattern::block4 ? "block4" : "unstructured";
}

std::vector<std::string> standard_bert_architectures() {
  std::vector<std::string> names;
  for (const auto& s : kStandardShapes) names.emplace_back(s.name);
  return names;
}

std::optional<ModelConfig> standard_bert_config(std::string_view arch) {
  for (const auto& s : kStandardShapes) {
    if (arch != s.name) continue;
    ModelConfig c;
    c.architectures = {"BertForSequenceClassification"};
    c.vocab_size = 30522;
    c.hidden_size = s.hidden;
    c.num_hidden_layers = s.layers;
    c.num_attention_heads = s.heads;
    c.intermediate_size = 4 * s.hidden;
    c.max_position_embeddings = 512;
    c.type_vocab_size = 2;
    return c;
  }
  return std::nullopt;
}

SynthReport synthesize_model(const SynthOptions& o, const std::string& directory) {
  const auto start = std::chrono::steady_clock::now();
  std::optional<ModelConfig> config = standard_bert_config(o.arch);
  if (!config)
    fail("unknown architecture '{}' (one of {})", o.arch,
         fmt::join(standard_bert_architectures(), ", "));
  if (!(o.sparsity >= 0.0 && o.sparsity < 1.0)) fail("sparsity {} is not in [0, 1)", o.sparsity);
  if (o.num_labels < 1 || o.num_labels > 1000)
    fail("{} labels; a head has 1 to 1000", o.num_labels);
  if (o.calibration_lines < 1) fail("calibration lines must be at least 1");
  if (directory.empty()) fail("no output directory");
  ModelConfig& c = *config;
  if (o.num_labels == 2)
    c.id2label = {"NEGATIVE", "POSITIVE"};
  else
    for (int64_t i = 0; i < o.num_labels; ++i) c.id2label.push_back(fmt::format("LABEL_{}", i));

  std::error_code ec;
  SynthReport report;
  report.config = c;
  if (!o.int8) {
    write_fp32_model(o, c, directory, report);
  } else {
    // quantize_model reads an fp32 directory and writes another; the fp32 one is a scratch
    // folder inside the output, removed afterwards.
    const fs::path fp32 = fs::path(directory) / ".fp32";
    write_fp32_model(o, c, fp32, report);
    if (o.progress) o.progress("quantizing");
    QuantizeOptions q;
    q.calibration_file = (fp32 / "calibration.txt").string();
    q.samples = 8;  // dynamic activations need no ranges; this only measures layer errors
    q.activations = ActivationMode::dynamic;
    q.weights = WeightRounding::nearest;
    q.smoothing_alpha = 0.0;
    q.isa = o.isa;
    quantize_model(fp32.string(), directory, q);
    fs::copy_file(fp32 / "calibration.txt", fs::path(directory) / "calibration.txt",
                  fs::copy_options::overwrite_existing, ec);
    if (ec) fail("cannot copy calibration.txt to {}: {}", directory, ec.message());
    fs::remove_all(fp32, ec);
  }
  for (const auto& entry : fs::directory_iterator(directory))
    report.files.push_back(entry.path().filename().string());
  std::sort(report.files.begin(), report.files.end());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace sparq
