// Calibration inputs read from a file, in the formats users have at hand: GLUE TSV (a 'sentence',
// 'text' or '#1 String'/'#2 String' column), JSONL (strings, {"text", "pair"}, {"question",
// "context"} or {"input_ids", "token_type_ids"}), plain text (one text per line) or CoNLL IOB
// text (sentences of words), and JSON with input_ids lists (a golden.json, say).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sparq/tokenizer.h"

namespace sparq::quant {

struct CalibrationSample {
  std::string text;
  std::optional<std::string> pair;
  std::vector<std::string> words;  // CoNLL: tokenized word by word
  std::vector<int32_t> ids;        // already token ids
  std::vector<int32_t> type_ids;
};

// Reads up to `limit` samples. Throws sparq::Error for a missing, empty or unreadable file, or
// one whose columns say nothing about where the text is.
std::vector<CalibrationSample> read_calibration_file(const std::string& path, int64_t limit);

// Tokenizes one sample (truncated to max_length); throws sparq::Error for an unusable one.
void encode_sample(const Tokenizer& tokenizer, const CalibrationSample& sample, int64_t max_length,
                   int64_t vocab_size, Encoding& out);

}  // namespace sparq::quant
