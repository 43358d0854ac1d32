// Builds a tokenizer from tokenizer.json, or from vocab.txt + tokenizer_config.json the way
// transformers converts a slow BertTokenizer to a fast one.
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/mapped_file.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace sparq {
namespace {

using nlohmann::json;
namespace unicode = tokenizer::unicode;

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

json parse_json_file(const std::string& path) {
  std::string text = io::read_text_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON ({})", path, e.what());
  }
}

// Tokens in tokenizer_config.json / special_tokens_map.json are strings or {"content": ...}.
std::optional<std::string> token_string(const json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return std::nullopt;
}

// transformers writes 1e30 when a checkpoint does not say; that is "unknown" (0) here.
int64_t read_model_max_length(const json& config) {
  auto it = config.find("model_max_length");
  if (it == config.end() || !it->is_number()) return 0;
  const double v = it->get<double>();
  return v >= 1 && v < 1e9 ? static_cast<int64_t>(v) : 0;
}

bool bool_field(const json& j, const char* key, bool fallback, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail("{}: '{}' must be true or false", source, key);
  return it->get<bool>();
}

int32_t require_id(const Tokenizer::Impl& t, const std::string& token, const std::string& source,
                   const char* role) {
  auto it = t.token_ids.find(token);
  if (it == t.token_ids.end())
    fail("{}: {} token '{}' is not in the vocabulary", source, role, token);
  return it->second;
}

// BERT's template: [CLS] $A [SEP] and [CLS] $A [SEP] $B:1 [SEP]:1.
void bert_templates(Tokenizer::Impl& t, int32_t cls, int32_t sep) {
  using Piece = Tokenizer::Impl::TemplatePiece;
  t.single_template = {Piece{false, 0, {cls}, 0}, Piece{true, 0, {}, 0}, Piece{false, 0, {sep}, 0}};
  t.pair_template = {Piece{false, 0, {cls}, 0}, Piece{true, 0, {}, 0}, Piece{false, 0, {sep}, 0},
                     Piece{true, 1, {}, 1}, Piece{false, 0, {sep}, 1}};
}

std::vector<Tokenizer::Impl::TemplatePiece> parse_template(const json& pieces,
                                                           const json& special_tokens,
                                                           const std::string& source) {
  std::vector<Tokenizer::Impl::TemplatePiece> out;
  if (!pieces.is_array()) fail("{}: post_processor template must be a list", source);
  for (const auto& p : pieces) {
    Tokenizer::Impl::TemplatePiece piece;
    if (p.contains("Sequence")) {
      const json& s = p["Sequence"];
      std::string id = s.value("id", "A");
      if (id != "A" && id != "B") fail("{}: template sequence '{}' is not A or B", source, id);
      piece.is_sequence = true;
      piece.sequence = id == "A" ? 0 : 1;
      piece.type_id = s.value("type_id", 0);
    } else if (p.contains("SpecialToken")) {
      const json& s = p["SpecialToken"];
      std::string id = s.value("id", "");
      auto it = special_tokens.find(id);
      if (it == special_tokens.end() || !it->contains("ids") || !(*it)["ids"].is_array())
        fail("{}: template special token '{}' has no ids in special_tokens", source, id);
      for (const auto& v : (*it)["ids"]) piece.special_ids.push_back(v.get<int32_t>());
      piece.type_id = s.value("type_id", 0);
    } else {
      fail("{}: template piece {} is neither a Sequence nor a SpecialToken", source, p.dump());
    }
    out.push_back(std::move(piece));
  }
  return out;
}

}  // namespace

void Tokenizer::Impl::index_vocabulary() {
  initial_pieces.clear();
  continuation_pieces.clear();
  token_ids.clear();
  initial_pieces.reserve(vocab.size());
  token_ids.reserve(vocab.size() + added_tokens.size());
  max_piece_chars = 1;
  for (size_t id = 0; id < vocab.size(); ++id) {
    const std::string& token = vocab[id];
    if (token.empty()) continue;
    token_ids.emplace(token, static_cast<int32_t>(id));
    std::string_view piece = token;
    if (piece.size() > continuing_prefix.size() &&
        piece.substr(0, continuing_prefix.size()) == continuing_prefix)
      continuation_pieces.emplace(piece.substr(continuing_prefix.size()), static_cast<int32_t>(id));
    initial_pieces.emplace(piece, static_cast<int32_t>(id));
    int chars = 0;
    for (unsigned char b : piece) chars += (b & 0xC0) != 0x80;
    max_piece_chars = std::max(max_piece_chars, chars);
  }
  for (const auto& a : added_tokens) token_ids.emplace(a.content, a.id);
}

namespace tokenizer {

std::vector<std::string> read_vocab_txt(const std::string& path) {
  std::string text = io::read_text_file(path);
  if (size_t bad = unicode::find_invalid_utf8(text); bad != std::string::npos)
    fail("{}: invalid UTF-8 at byte {}", path, bad);
  std::vector<std::string> vocab;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    vocab.emplace_back(text, start, end - start);  // as transformers' load_vocab: strip "\n" only
    start = end + 1;
  }
  if (vocab.empty()) fail("{}: the vocabulary is empty", path);
  return vocab;
}

}  // namespace tokenizer

std::shared_ptr<const Tokenizer> Tokenizer::from_tokenizer_json(const std::string& path) {
  json j = parse_json_file(path);
  auto impl = std::make_unique<Impl>();
  Impl& t = *impl;
  t.source = path;
  if (!j.is_object()) fail("{}: not a JSON object", path);

  const json& model = j.contains("model") ? j["model"] : json();
  if (!model.is_object() || model.value("type", "") != "WordPiece")
    fail("{}: model type {} is not supported (WordPiece only)", path,
         model.is_object() && model.contains("type") ? model["type"].dump() : "(missing)");
  if (!model.contains("vocab") || !model["vocab"].is_object() || model["vocab"].empty())
    fail("{}: model.vocab is missing or empty", path);
  int64_t max_id = -1;
  for (auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > (1 << 26))
      fail("{}: vocabulary id of '{}' is not a valid id", path, token);
    max_id = std::max(max_id, id.get<int64_t>());
  }
  t.vocab.assign(static_cast<size_t>(max_id + 1), "");
  for (auto& [token, id] : model["vocab"].items()) {
    if (unicode::find_invalid_utf8(token) != std::string::npos)
      fail("{}: vocabulary token with id {} is not valid UTF-8", path, id.get<int64_t>());
    std::string& slot = t.vocab[static_cast<size_t>(id.get<int64_t>())];
    if (!slot.empty())
      fail("{}: vocabulary id {} is used by '{}' and '{}'", path, id.get<int64_t>(), slot, token);
    slot = token;
  }
  t.continuing_prefix = model.value("continuing_subword_prefix", std::string("##"));
  t.max_input_chars_per_word = model.value("max_input_chars_per_word", 100);
  if (t.max_input_chars_per_word < 1) fail("{}: max_input_chars_per_word must be positive", path);

  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const auto& a : j["added_tokens"]) {
      Impl::AddedToken token;
      if (!a.contains("content") || !a["content"].is_string() || !a.contains("id") ||
          !a["id"].is_number_integer())
        fail("{}: added token {} needs a content string and an integer id", path, a.dump());
      token.content = a["content"].get<std::string>();
      token.id = a["id"].get<int32_t>();
      if (token.content.empty()) fail("{}: added token {} is empty", path, token.id);
      token.special = a.value("special", false);
      token.normalized = a.value("normalized", !token.special);
      token.lstrip = a.value("lstrip", false);
      token.rstrip = a.value("rstrip", false);
      token.single_word = a.value("single_word", false);
      if (token.id < 0) fail("{}: added token '{}' has a negative id", path, token.content);
      if (static_cast<size_t>(token.id) >= t.vocab.size())
        t.vocab.resize(static_cast<size_t>(token.id) + 1);
      if (t.vocab[static_cast<size_t>(token.id)].empty())
        t.vocab[static_cast<size_t>(token.id)] = token.content;
      t.added_tokens.push_back(std::move(token));
    }
  }

  const json normalizer = j.value("normalizer", json());
  if (normalizer.is_null()) {
    t.normalizer = Impl::Normalizer{false, false, false, false};
  } else {
    if (normalizer.value("type", "") != "BertNormalizer")
      fail("{}: normalizer {} is not supported (BertNormalizer only)", path,
           normalizer.value("type", std::string("?")));
    t.normalizer.clean_text = bool_field(normalizer, "clean_text", true, path);
    t.normalizer.handle_chinese_chars = bool_field(normalizer, "handle_chinese_chars", true, path);
    t.normalizer.lowercase = bool_field(normalizer, "lowercase", true, path);
    t.normalizer.strip_accents =
        bool_field(normalizer, "strip_accents", t.normalizer.lowercase, path);
  }
  const json pre = j.value("pre_tokenizer", json());
  if (!pre.is_object() || pre.value("type", "") != "BertPreTokenizer")
    fail("{}: pre_tokenizer {} is not supported (BertPreTokenizer only)", path,
         pre.is_object() ? pre.value("type", std::string("?")) : pre.dump());

  t.index_vocabulary();
  auto unk = model.find("unk_token");
  t.unk_id =
      require_id(t, unk != model.end() && unk->is_string() ? unk->get<std::string>() : "[UNK]",
                 path, "unknown");
  t.pad_id = t.token_ids.count("[PAD]") ? t.token_ids.at("[PAD]") : 0;

  const json post = j.value("post_processor", json());
  const std::string post_type = post.is_object() ? post.value("type", "") : "";
  if (post_type == "TemplateProcessing") {
    const json special = post.value("special_tokens", json::object());
    t.single_template = parse_template(post.value("single", json()), special, path);
    t.pair_template = parse_template(post.value("pair", json()), special, path);
  } else if (post_type == "BertProcessing") {
    auto id_of = [&](const char* key) {
      const json v = post.value(key, json());
      if (!v.is_array() || v.size() != 2 || !v[1].is_number_integer())
        fail("{}: BertProcessing '{}' must be [token, id]", path, key);
      return v[1].get<int32_t>();
    };
    bert_templates(t, id_of("cls"), id_of("sep"));
  } else if (post.is_null()) {
    t.single_template = {Impl::TemplatePiece{true, 0, {}, 0}};
    t.pair_template = {Impl::TemplatePiece{true, 0, {}, 0}, Impl::TemplatePiece{true, 1, {}, 1}};
  } else {
    fail("{}: post_processor '{}' is not supported (TemplateProcessing, BertProcessing)", path,
         post_type);
  }
  // model_max_length lives in the tokenizer_config.json beside tokenizer.json, when there is one
  const std::string config_path =
      path.substr(0, path.find_last_of('/') + 1) + "tokenizer_config.json";
  if (file_exists(config_path)) {
    json config = parse_json_file(config_path);
    if (config.is_object()) t.model_max_length = read_model_max_length(config);
  }
  for (const auto* tmpl : {&t.single_template, &t.pair_template})
    for (const auto& piece : *tmpl)
      for (int32_t id : piece.special_ids)
        if (id < 0 || static_cast<size_t>(id) >= t.vocab.size())
          fail("{}: post_processor special token id {} is outside the vocabulary", path, id);
  return std::shared_ptr<const Tokenizer>(new Tokenizer(std::move(impl)));
}

std::shared_ptr<const Tokenizer> Tokenizer::from_vocab(const std::string& vocab_path,
                                                       const std::string& config_path,
                                                       const std::string& special_tokens_map_path) {
  auto impl = std::make_unique<Impl>();
  Impl& t = *impl;
  t.source = vocab_path;
  t.vocab = tokenizer::read_vocab_txt(vocab_path);
  json config = config_path.empty() ? json::object() : parse_json_file(config_path);
  if (!config.is_object()) fail("{}: not a JSON object", config_path);
  json special_map =
      special_tokens_map_path.empty() ? json::object() : parse_json_file(special_tokens_map_path);
  if (!special_map.is_object()) fail("{}: not a JSON object", special_tokens_map_path);

  t.normalizer.lowercase = bool_field(config, "do_lower_case", true, config_path);
  t.normalizer.strip_accents =
      bool_field(config, "strip_accents", t.normalizer.lowercase, config_path);
  t.normalizer.handle_chinese_chars =
      bool_field(config, "tokenize_chinese_chars", true, config_path);
  t.normalizer.clean_text = true;
  t.model_max_length = read_model_max_length(config);
  t.index_vocabulary();

  auto token_for = [&](const char* key, const char* fallback) {
    if (auto v = token_string(config, key)) return *v;
    if (auto v = token_string(special_map, key)) return *v;
    return std::string(fallback);
  };
  const std::string unk = token_for("unk_token", "[UNK]"), cls = token_for("cls_token", "[CLS]"),
                    sep = token_for("sep_token", "[SEP]"), pad = token_for("pad_token", "[PAD]"),
                    mask = token_for("mask_token", "[MASK]");
  const std::string source = config_path.empty() ? vocab_path : config_path;
  t.unk_id = require_id(t, unk, source, "unknown");
  t.pad_id = require_id(t, pad, source, "padding");
  bert_templates(t, require_id(t, cls, source, "classifier"),
                 require_id(t, sep, source, "separator"));

  // The special tokens become added tokens, matched in the original text, in id order.
  std::vector<std::string> specials = {unk, sep, pad, cls, mask};
  if (config.contains("added_tokens_decoder") && config["added_tokens_decoder"].is_object()) {
    for (auto& [id_text, entry] : config["added_tokens_decoder"].items()) {
      (void)id_text;
      if (entry.is_object() && entry.contains("content") && entry["content"].is_string() &&
          entry.value("special", false))
        specials.push_back(entry["content"].get<std::string>());
    }
  }
  std::sort(specials.begin(), specials.end());
  specials.erase(std::unique(specials.begin(), specials.end()), specials.end());
  for (const auto& s : specials) {
    auto it = t.token_ids.find(s);
    if (it == t.token_ids.end()) continue;
    Impl::AddedToken a;
    a.content = s;
    a.id = it->second;
    a.special = true;
    t.added_tokens.push_back(a);
  }
  std::sort(t.added_tokens.begin(), t.added_tokens.end(),
            [](const Impl::AddedToken& a, const Impl::AddedToken& b) { return a.id < b.id; });
  return std::shared_ptr<const Tokenizer>(new Tokenizer(std::move(impl)));
}

std::shared_ptr<const Tokenizer> Tokenizer::load(const std::string& directory) {
  struct stat st {};
  if (::stat(directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail("tokenizer directory {} does not exist", directory);
  const std::string json_path = directory + "/tokenizer.json";
  const std::string vocab_path = directory + "/vocab.txt";
  const std::string config_path = directory + "/tokenizer_config.json";
  const std::string map_path = directory + "/special_tokens_map.json";
  if (file_exists(json_path)) return from_tokenizer_json(json_path);
  if (file_exists(vocab_path))
    return from_vocab(vocab_path, file_exists(config_path) ? config_path : "",
                      file_exists(map_path) ? map_path : "");
  fail("{} has no tokenizer: neither tokenizer.json nor vocab.txt", directory);
}

}  // namespace sparq
