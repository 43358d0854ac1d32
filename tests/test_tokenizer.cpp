// The tokenizer against Hugging Face's (shared/golden/tokenizer-bert-base-uncased.json): ids,
// tokens, type ids, offsets in code points and bytes, word and sequence ids, special-token mask,
// and the error cases, through both loading paths.
#include <gtest/gtest.h>

#include "sparq/error.h"
#include "sparq/tokenizer.h"
#include "test_util.h"

namespace sparq {
namespace {

const nlohmann::json& golden() {
  static const nlohmann::json g =
      test::read_json(test::shared_dir() + "/golden/tokenizer-bert-base-uncased.json");
  return g;
}

std::string tokenizer_dir() {
  return test::shared_dir() + "/models/tokenizers/bert-base-uncased";
}

enum class Source { tokenizer_json, vocab_txt };

std::shared_ptr<const Tokenizer> load(Source source) {
  if (source == Source::tokenizer_json)
    return Tokenizer::from_tokenizer_json(tokenizer_dir() + "/tokenizer.json");
  return Tokenizer::from_vocab(tokenizer_dir() + "/vocab.txt",
                               tokenizer_dir() + "/tokenizer_config.json",
                               tokenizer_dir() + "/special_tokens_map.json");
}

EncodeOptions options_of(const nlohmann::json& c) {
  EncodeOptions o;
  o.add_special_tokens = c["add_special_tokens"].get<bool>();
  if (!c["max_length"].is_null()) {
    o.max_length = c["max_length"].get<int64_t>();
    o.truncation = *parse_truncation_strategy(c["truncation"].get<std::string>());
  }
  return o;
}

Encoding encode_case(const Tokenizer& tok, const nlohmann::json& c) {
  const std::string text = c["text"].get<std::string>();
  Encoding e;
  if (c["pair"].is_null()) {
    tok.encode(text, nullptr, options_of(c), e);
  } else {
    const std::string pair = c["pair"].get<std::string>();
    std::string_view p = pair;
    tok.encode(text, &p, options_of(c), e);
  }
  return e;
}

std::vector<int> optional_ints(const nlohmann::json& list) {
  std::vector<int> out;
  for (const auto& v : list) out.push_back(v.is_null() ? -1 : v.get<int>());
  return out;
}

std::vector<TokenSpan> spans(const nlohmann::json& list) {
  std::vector<TokenSpan> out;
  for (const auto& v : list) out.push_back({v[0].get<int32_t>(), v[1].get<int32_t>()});
  return out;
}

class GoldenTokenizer : public ::testing::TestWithParam<Source> {};

TEST_P(GoldenTokenizer, EveryCaseMatches) {
  auto tok = load(GetParam());
  int checked = 0, failed = 0;
  for (const auto& c : golden()["cases"]) {
    SCOPED_TRACE(c["group"].get<std::string>() + ": " + c["text"].get<std::string>().substr(0, 60));
    Encoding e = encode_case(*tok, c);
    std::vector<std::string> tokens;
    for (int32_t id : e.ids) tokens.push_back(tok->id_to_token(id));
    std::vector<int> word_ids(e.word_ids.begin(), e.word_ids.end());
    std::vector<int> sequence_ids(e.sequence_ids.begin(), e.sequence_ids.end());
    std::vector<int> mask(e.special_tokens_mask.begin(), e.special_tokens_mask.end());
    const bool ok = e.ids == c["ids"].get<std::vector<int32_t>>() &&
                    tokens == c["tokens"].get<std::vector<std::string>>() &&
                    e.type_ids == c["type_ids"].get<std::vector<int32_t>>() &&
                    e.offsets == spans(c["offsets_chars"]) &&
                    e.byte_offsets == spans(c["offsets_bytes"]) &&
                    word_ids == optional_ints(c["word_ids"]) &&
                    sequence_ids == optional_ints(c["sequence_ids"]) &&
                    mask == c["special_tokens_mask"].get<std::vector<int>>();
    if (!ok && ++failed <= 10) {
      EXPECT_EQ(tokens, c["tokens"].get<std::vector<std::string>>());
      EXPECT_EQ(e.ids, c["ids"].get<std::vector<int32_t>>());
      EXPECT_EQ(e.type_ids, c["type_ids"].get<std::vector<int32_t>>());
      EXPECT_EQ(e.offsets, spans(c["offsets_chars"]));
      EXPECT_EQ(e.byte_offsets, spans(c["offsets_bytes"]));
      EXPECT_EQ(word_ids, optional_ints(c["word_ids"]));
      EXPECT_EQ(sequence_ids, optional_ints(c["sequence_ids"]));
      EXPECT_EQ(mask, c["special_tokens_mask"].get<std::vector<int>>());
    }
    ++checked;
  }
  EXPECT_EQ(failed, 0) << "of " << checked << " cases";
  EXPECT_EQ(checked, 465);
}

TEST_P(GoldenTokenizer, ErrorCasesFail) {
  auto tok = load(GetParam());
  int n = 0;
  for (const auto& c : golden()["error_cases"]) {
    SCOPED_TRACE(c["text"].get<std::string>().substr(0, 40));
    try {
      encode_case(*tok, c);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), c["error"].get<std::string>());
    }
    ++n;
  }
  EXPECT_EQ(n, 14);
}

INSTANTIATE_TEST_SUITE_P(BothLoaders, GoldenTokenizer,
                         ::testing::Values(Source::tokenizer_json, Source::vocab_txt),
                         [](const auto& info) {
                           return info.param == Source::tokenizer_json
                                      ? std::string("tokenizer_json")
                                      : std::string("vocab_txt");
                         });

}  // namespace
}  // namespace sparq
