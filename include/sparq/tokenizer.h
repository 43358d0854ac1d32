// BERT WordPiece tokenization, equal to Hugging Face's fast tokenizer (BertNormalizer,
// BertPreTokenizer, WordPiece, TemplateProcessing, added tokens), with character offsets.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sparq {

enum class TruncationStrategy { longest_first, only_first, only_second };

const char* truncation_strategy_name(TruncationStrategy strategy);
std::optional<TruncationStrategy> parse_truncation_strategy(std::string_view name);

struct EncodeOptions {
  bool add_special_tokens = true;
  int64_t max_length = 0;  // 0: no truncation; otherwise counts the added special tokens
  TruncationStrategy truncation = TruncationStrategy::longest_first;
};

struct TokenSpan {
  int32_t start = 0;  // [start, end)
  int32_t end = 0;
  bool operator==(const TokenSpan&) const = default;
};

// One encoded text or text pair. Template special tokens have offsets [0, 0], word id -1 and
// sequence id -1; every other token's offsets index the text (sequence id 0) or the pair
// (sequence id 1) it came from.
struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;
  std::vector<TokenSpan> offsets;       // in Unicode code points, as Python's tokenizers reports
  std::vector<TokenSpan> byte_offsets;  // the same spans in UTF-8 bytes
  std::vector<int32_t> word_ids;
  std::vector<int8_t> sequence_ids;
  std::vector<uint8_t> special_tokens_mask;

  size_t size() const { return ids.size(); }
  void clear();
};

class Tokenizer {
 public:
  // tokenizer.json when the directory has one, otherwise vocab.txt with tokenizer_config.json
  // and special_tokens_map.json when present. Throws sparq::Error naming the file and problem.
  static std::shared_ptr<const Tokenizer> load(const std::string& directory);
  static std::shared_ptr<const Tokenizer> from_tokenizer_json(const std::string& path);
  // config_path may be empty (BertTokenizer defaults: lower case, strip accents, CJK splitting).
  static std::shared_ptr<const Tokenizer> from_vocab(
      const std::string& vocab_path, const std::string& config_path,
      const std::string& special_tokens_map_path = "");

  ~Tokenizer();

  // Encodes a text, or a text pair when `pair` is given, into `out` (cleared first; its capacity
  // is reused). Throws sparq::Error for invalid UTF-8 or a truncation that cannot be met.
  void encode(std::string_view text, const std::string_view* pair, const EncodeOptions& options,
              Encoding& out) const;
  Encoding encode(std::string_view text, const EncodeOptions& options = {}) const;
  Encoding encode_pair(std::string_view text, std::string_view pair,
                       const EncodeOptions& options = {}) const;

  // Pre-split words (is_split_into_words): each word is tokenized on its own, word_ids index
  // `words`, and offsets are within each word.
  void encode_words(const std::vector<std::string_view>& words, const EncodeOptions& options,
                    Encoding& out) const;

  // Applies the post-processing template (special tokens, type ids, sequence ids) to parts
  // encoded without special tokens, e.g. a question and one window of a long context.
  void post_process(const Encoding& first, const Encoding* second, Encoding& out) const;

  const std::string& id_to_token(int32_t id) const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  int32_t vocab_size() const;
  int32_t pad_token_id() const;
  // The model_max_length of tokenizer_config.json, or 0 when the directory does not say.
  int64_t model_max_length() const;
  // Special tokens the template adds: 2 for one text, 3 for a pair (BERT).
  int num_special_tokens(bool pair) const;
  // Where it was loaded from (tokenizer.json or vocab.txt).
  const std::string& source() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparq
