// The tokenizer's configuration, as both loaders (tokenizer.json; vocab.txt +
// tokenizer_config.json) produce it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sparq/tokenizer.h"

namespace sparq {

struct Tokenizer::Impl {
  struct Normalizer {
    bool clean_text = true;
    bool handle_chinese_chars = true;
    bool strip_accents = true;
    bool lowercase = true;
  };

  // A token matched in the text before WordPiece runs: special tokens such as [CLS] written in
  // the text, and user-added tokens.
  struct AddedToken {
    std::string content;
    int32_t id = 0;
    bool special = false;
    bool normalized = false;  // matched in the normalized text rather than the original
    bool lstrip = false;
    bool rstrip = false;
    bool single_word = false;
  };

  // One element of a post-processing template: a special token or one of the sequences.
  struct TemplatePiece {
    bool is_sequence = false;
    int sequence = 0;  // 0 for $A, 1 for $B
    std::vector<int32_t> special_ids;
    int32_t type_id = 0;
  };

  std::string source;
  Normalizer normalizer;
  std::vector<std::string> vocab;  // by id
  // WordPiece lookups without allocation: word-initial pieces, and continuation pieces with their
  // prefix ("##") removed.
  std::unordered_map<std::string_view, int32_t> initial_pieces;
  std::unordered_map<std::string_view, int32_t> continuation_pieces;
  std::unordered_map<std::string_view, int32_t> token_ids;  // every vocabulary and added token
  std::string continuing_prefix = "##";
  int32_t unk_id = 0;
  int32_t pad_id = 0;
  int max_input_chars_per_word = 100;
  int max_piece_chars = 1;  // longest vocabulary piece, bounding the greedy search
  std::vector<AddedToken> added_tokens;
  std::vector<TemplatePiece> single_template;
  std::vector<TemplatePiece> pair_template;
  int64_t model_max_length = 0;

  // Fills the lookup maps from `vocab` and `added_tokens`; called once by the loaders.
  void index_vocabulary();
};

namespace tokenizer {

// Reads a BERT vocab.txt: one token per line, the line number is its id.
std::vector<std::string> read_vocab_txt(const std::string& path);

}  // namespace tokenizer
}  // namespace sparq
