#include "quant/calibration_data.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/mapped_file.h"

namespace sparq::quant {
namespace {

using nlohmann::json;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    size_t end = line.find(separator, start);
    fields.push_back(
        line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return fields;
    start = end + 1;
  }
}

bool ends_with(const std::string& s, const char* suffix) {
  return s.ends_with(suffix);
}

bool is_iob_tag(const std::string& tag) {
  return tag == "O" || ((tag.rfind("B-", 0) == 0 || tag.rfind("I-", 0) == 0) && tag.size() > 2);
}

// CoNLL when (nearly) every non-blank line is "word ... TAG" with an IOB tag.
bool looks_like_conll(const std::vector<std::string>& lines) {
  int64_t tagged = 0, other = 0;
  for (const auto& line : lines) {
    if (line.empty() || line.rfind("-DOCSTART-", 0) == 0) continue;
    auto fields = split(line, ' ');
    (fields.size() >= 2 && is_iob_tag(fields.back()) ? tagged : other)++;
    if (tagged + other >= 200) break;
  }
  return tagged > 0 && other == 0;
}

std::vector<int32_t> int_list(const json& j, const char* what, const std::string& path) {
  std::vector<int32_t> out;
  if (!j.is_array()) fail("{}: '{}' must be a list of integers", path, what);
  for (const auto& v : j) {
    if (!v.is_number_integer()) fail("{}: '{}' must be a list of integers", path, what);
    out.push_back(v.get<int32_t>());
  }
  return out;
}

}  // namespace

std::vector<CalibrationSample> read_calibration_file(const std::string& path, int64_t limit) {
  if (limit < 1) fail("the number of calibration samples must be at least 1, not {}", limit);
  std::string text = io::read_text_file(path);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  std::vector<CalibrationSample> samples;
  auto full = [&] { return static_cast<int64_t>(samples.size()) >= limit; };

  if (ends_with(path, ".json")) {
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception& e) {
      fail("{}: not valid JSON ({})", path, e.what());
    }
    if (!j.is_object() || !j.contains("input_ids"))
      fail("{}: a .json calibration file holds \"input_ids\" (lists of token ids)", path);
    const json& ids = j["input_ids"];
    if (!ids.is_array()) fail("{}: 'input_ids' must be a list of lists", path);
    for (size_t r = 0; r < ids.size() && !full(); ++r) {
      CalibrationSample s;
      s.ids = int_list(ids[r], "input_ids", path);
      if (j.contains("token_type_ids"))
        s.type_ids = int_list(j["token_type_ids"].at(r), "token_type_ids", path);
      if (j.contains("attention_mask")) {  // drop the padding
        auto mask = int_list(j["attention_mask"].at(r), "attention_mask", path);
        size_t n = 0;
        while (n < mask.size() && mask[n]) ++n;
        s.ids.resize(std::min(s.ids.size(), n));
        if (!s.type_ids.empty()) s.type_ids.resize(s.ids.size());
      }
      samples.push_back(std::move(s));
    }
  } else if (ends_with(path, ".jsonl")) {
    for (const auto& line : lines_of(text)) {
      if (full()) break;
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      CalibrationSample s;
      try {
        json j = json::parse(line);
        if (j.is_string()) {
          s.text = j.get<std::string>();
        } else if (j.is_object() && j.contains("input_ids")) {
          s.ids = int_list(j["input_ids"], "input_ids", path);
          if (j.contains("token_type_ids"))
            s.type_ids = int_list(j["token_type_ids"], "token_type_ids", path);
        } else if (j.is_object() && j.contains("question") && j.contains("context")) {
          s.text = j["question"].get<std::string>();
          s.pair = j["context"].get<std::string>();
        } else if (j.is_object() && j.contains("text")) {
          s.text = j["text"].get<std::string>();
          for (const char* key : {"pair", "text_pair"})
            if (j.contains(key)) s.pair = j[key].get<std::string>();
        } else {
          s.text.clear();  // counted as unusable below
        }
      } catch (const json::exception&) {
        s.text.clear();
      }
      samples.push_back(std::move(s));
    }
  } else {
    std::vector<std::string> lines = lines_of(text);
    if (ends_with(path, ".tsv")) {
      if (lines.empty()) fail("{}: the file is empty", path);
      const auto header = split(lines[0], '\t');
      auto column = [&](const char* name) -> int {
        auto it = std::find(header.begin(), header.end(), name);
        return it == header.end() ? -1 : static_cast<int>(it - header.begin());
      };
      int text_column = column("sentence");
      if (text_column < 0) text_column = column("text");
      int pair_column = column("pair");
      if (text_column < 0 && column("#1 String") >= 0) {
        text_column = column("#1 String");
        pair_column = column("#2 String");
      }
      if (text_column < 0)
        fail("{}: no text column: the header needs 'sentence', 'text' or '#1 String' (found: {})",
             path, lines[0]);
      for (size_t i = 1; i < lines.size() && !full(); ++i) {
        if (lines[i].empty()) continue;
        auto fields = split(lines[i], '\t');
        CalibrationSample s;
        if (static_cast<int>(fields.size()) > text_column)
          s.text = fields[static_cast<size_t>(text_column)];
        if (pair_column >= 0 && static_cast<int>(fields.size()) > pair_column)
          s.pair = fields[static_cast<size_t>(pair_column)];
        samples.push_back(std::move(s));
      }
    } else if (looks_like_conll(lines)) {
      CalibrationSample s;
      for (const auto& line : lines) {
        if (full()) break;
        if (line.rfind("-DOCSTART-", 0) == 0) continue;
        if (line.find_first_not_of(" \t") == std::string::npos) {
          if (!s.words.empty()) samples.push_back(std::move(s));
          s = CalibrationSample{};
          continue;
        }
        s.words.push_back(split(line, ' ').front());
      }
      if (!s.words.empty() && !full()) samples.push_back(std::move(s));
    } else {
      for (const auto& line : lines) {
        if (full()) break;
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        CalibrationSample s;
        s.text = line;
        samples.push_back(std::move(s));
      }
    }
  }
  if (samples.empty()) fail("{}: no calibration samples in the file", path);
  return samples;
}

void encode_sample(const Tokenizer& tokenizer, const CalibrationSample& s, int64_t max_length,
                   int64_t vocab_size, Encoding& out) {
  EncodeOptions options;
  options.max_length = max_length;
  if (!s.ids.empty()) {
    out.clear();
    const size_t n = std::min(s.ids.size(), static_cast<size_t>(max_length));
    for (size_t i = 0; i < n; ++i) {
      if (s.ids[i] < 0 || s.ids[i] >= vocab_size)
        fail("token id {} is outside the vocabulary", s.ids[i]);
      out.ids.push_back(s.ids[i]);
      out.type_ids.push_back(i < s.type_ids.size() ? s.type_ids[i] : 0);
    }
    return;
  }
  if (!s.words.empty()) {
    std::vector<std::string_view> words(s.words.begin(), s.words.end());
    tokenizer.encode_words(words, options, out);
    return;
  }
  if (s.text.empty()) fail("empty or unreadable sample");
  if (s.pair) {
    std::string_view pair = *s.pair;
    tokenizer.encode(s.text, &pair, options, out);
  } else {
    tokenizer.encode(s.text, nullptr, options, out);
  }
}

}  // namespace sparq::quant
