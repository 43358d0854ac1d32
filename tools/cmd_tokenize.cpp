// sparq tokenize: what the model's tokenizer makes of a text.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "sparq/error.h"
#include "sparq/tokenizer.h"

namespace sparq::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string pair;
  bool has_pair = false;
  int64_t max_length = 0;
  std::string truncation = "longest_first";
  bool no_special_tokens = false;
  bool json = false;
};

}  // namespace

void register_tokenize(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* cmd =
      app.add_subcommand("tokenize", "Show the tokens, ids, types and offsets of a text");
  cmd->add_option("--model", o->model,
                  "Model (or tokenizer) directory: tokenizer.json, or vocab.txt")
      ->required();
  cmd->add_option("text", o->text, "The text")->required();
  CLI::Option* pair = cmd->add_option("--pair", o->pair, "A second text (sentence pair)");
  cmd->add_option("--max-length", o->max_length,
                  "Truncate to this many tokens, special tokens included")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  cmd->add_option("--truncation", o->truncation, "longest_first, only_first or only_second")
      ->check(CLI::IsMember({"longest_first", "only_first", "only_second"}))
      ->capture_default_str();
  cmd->add_flag("--no-special-tokens", o->no_special_tokens, "Do not add [CLS] and [SEP]");
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o, pair] {
    auto tok = Tokenizer::load(o->model);
    EncodeOptions options;
    options.add_special_tokens = !o->no_special_tokens;
    options.max_length = o->max_length;
    options.truncation = *parse_truncation_strategy(o->truncation);
    Encoding e;
    std::string_view pair_text = o->pair;
    tok->encode(o->text, pair->count() ? &pair_text : nullptr, options, e);
    if (o->json) {
      nlohmann::json j;
      j["ids"] = e.ids;
      std::vector<std::string> tokens;
      for (int32_t id : e.ids) tokens.push_back(tok->id_to_token(id));
      j["tokens"] = tokens;
      j["type_ids"] = e.type_ids;
      nlohmann::json offsets = nlohmann::json::array();
      for (const auto& s : e.offsets) offsets.push_back({s.start, s.end});
      j["offsets"] = offsets;
      nlohmann::json word_ids = nlohmann::json::array();
      for (int32_t w : e.word_ids) word_ids.push_back(w < 0 ? nlohmann::json() : nlohmann::json(w));
      j["word_ids"] = word_ids;
      j["special_tokens_mask"] = e.special_tokens_mask;
      fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return;
    }
    fmt::print("{} tokens ({})\n", e.size(), tok->source());
    fmt::print("{:>5} {:>7} {:<20} {:>4} {:>11} {:>5}\n", "index", "id", "token", "type", "chars",
               "word");
    for (size_t i = 0; i < e.size(); ++i)
      fmt::print("{:>5} {:>7} {:<20} {:>4} {:>11} {:>5}\n", i, e.ids[i], tok->id_to_token(e.ids[i]),
                 e.type_ids[i], fmt::format("{}-{}", e.offsets[i].start, e.offsets[i].end),
                 e.word_ids[i] < 0 ? std::string("-") : std::to_string(e.word_ids[i]));
  });
}

}  // namespace sparq::cli
