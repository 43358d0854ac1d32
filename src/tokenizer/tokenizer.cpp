// Encoding: added tokens split out of the original text, BertNormalizer (clean-up, CJK padding,
// NFD + accent stripping, lower case) with every normalized character remembering the original
// character it came from, BertPreTokenizer (whitespace, isolated punctuation), greedy
// longest-match WordPiece, Hugging Face's truncation, then the post-processing template.
// Scratch memory is per thread and reused, so steady-state encoding allocates nothing.
#include <algorithm>

#include "core/error.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace sparq {
namespace {

using Impl = Tokenizer::Impl;
namespace unicode = tokenizer::unicode;

struct RawToken {
  int32_t id;
  int32_t start, end;            // original code points
  int32_t byte_start, byte_end;  // original bytes
  int32_t word;
};

struct Scratch {
  std::u32string chars;             // the decoded text
  std::vector<int32_t> char_bytes;  // byte offset of each character, then the text's size
  std::u32string staged;            // cleaned, CJK-padded, decomposed, accents stripped
  std::vector<int32_t> staged_src;  // original character of each staged one
  std::u32string normalized;        // ... and lower-cased
  std::vector<int32_t> normalized_src;
  std::u32string expansion;
  std::string piece_utf8;
  std::vector<int32_t> piece_bytes;
  std::vector<RawToken> sequences[2];
};

thread_local Scratch tls_scratch;

bool is_whitespace(char32_t c) {
  return unicode::has(c, unicode::kWhitespace);
}

class Encoder {
 public:
  Encoder(const Impl& t, Scratch& s) : t_(t), s_(s) {}

  // Tokenizes one text into `out`. Word ids count from `first_word`, or are all `fixed_word`.
  void tokenize(std::string_view text, std::vector<RawToken>& out, int32_t fixed_word = -1) {
    out.clear();
    decode(text);
    word_ = 0;
    fixed_word_ = fixed_word;
    const int32_t n = static_cast<int32_t>(s_.chars.size());
    int32_t segment_start = 0;
    for (int32_t k = 0; k < n;) {
      int32_t match_end = 0;
      const Impl::AddedToken* match = match_added_token(text, k, match_end);
      if (!match) {
        ++k;
        continue;
      }
      int32_t begin = k, end = match_end;
      if (match->lstrip)
        while (begin > segment_start && is_whitespace(s_.chars[static_cast<size_t>(begin - 1)]))
          --begin;
      if (match->rstrip)
        while (end < n && is_whitespace(s_.chars[static_cast<size_t>(end)])) ++end;
      tokenize_segment(segment_start, begin, out);
      push(out, match->id, k, match_end);
      next_word();
      segment_start = end;
      k = end;
    }
    tokenize_segment(segment_start, n, out);
  }

 private:
  void decode(std::string_view text) {
    s_.chars.clear();
    s_.char_bytes.clear();
    size_t i = 0;
    while (i < text.size()) {
      const size_t start = i;
      char32_t c;
      if (!unicode::decode_utf8(text, i, c)) fail("text is not valid UTF-8 (byte {})", start);
      s_.chars.push_back(c);
      s_.char_bytes.push_back(static_cast<int32_t>(start));
    }
    s_.char_bytes.push_back(static_cast<int32_t>(text.size()));
  }

  // The longest non-normalized added token starting at character k (leftmost-longest overall,
  // since the text is scanned left to right).
  const Impl::AddedToken* match_added_token(std::string_view text, int32_t k, int32_t& end_char) {
    const size_t byte = static_cast<size_t>(s_.char_bytes[static_cast<size_t>(k)]);
    const Impl::AddedToken* best = nullptr;
    for (const auto& a : t_.added_tokens) {
      if (a.normalized || text.size() - byte < a.content.size()) continue;
      if (text.compare(byte, a.content.size(), a.content) != 0) continue;
      if (best && best->content.size() >= a.content.size()) continue;
      if (a.single_word && !single_word_boundaries(k, byte + a.content.size())) continue;
      best = &a;
    }
    if (best) {
      const int32_t end_byte = static_cast<int32_t>(byte + best->content.size());
      end_char = k;
      while (s_.char_bytes[static_cast<size_t>(end_char)] < end_byte) ++end_char;
    }
    return best;
  }

  bool single_word_boundaries(int32_t k, size_t end_byte) const {
    auto is_word_char = [](char32_t c) {
      return !is_whitespace(c) && !unicode::has(c, unicode::kPunctuation);
    };
    if (k > 0 && is_word_char(s_.chars[static_cast<size_t>(k - 1)])) return false;
    auto it = std::lower_bound(s_.char_bytes.begin(), s_.char_bytes.end(),
                               static_cast<int32_t>(end_byte));
    const size_t after = static_cast<size_t>(it - s_.char_bytes.begin());
    return after >= s_.chars.size() || !is_word_char(s_.chars[after]);
  }

  void next_word() {
    if (fixed_word_ < 0) ++word_;
  }
  int32_t current_word() const { return fixed_word_ < 0 ? word_ : fixed_word_; }

  void push(std::vector<RawToken>& out, int32_t id, int32_t start, int32_t end) {
    out.push_back({id, start, end, s_.char_bytes[static_cast<size_t>(start)],
                   s_.char_bytes[static_cast<size_t>(end)], current_word()});
  }

  // Normalizes original characters [begin, end) into s_.normalized / s_.normalized_src.
  void normalize(int32_t begin, int32_t end) {
    const Impl::Normalizer& n = t_.normalizer;
    s_.staged.clear();
    s_.staged_src.clear();
    bool needs_reordering = false;
    auto stage = [&](char32_t c, int32_t src) {
      if (!n.strip_accents) {
        s_.staged += c;
        s_.staged_src.push_back(src);
        return;
      }
      const uint8_t f = unicode::flags(c);
      if (f & unicode::kMarkNonspacing) return;
      if (!(f & unicode::kDecomposes)) {
        s_.staged += c;
        s_.staged_src.push_back(src);
        return;
      }
      s_.expansion.clear();
      unicode::append_decomposition(c, s_.expansion);
      for (char32_t d : s_.expansion) {
        if (unicode::has(d, unicode::kMarkNonspacing)) continue;
        needs_reordering = needs_reordering || unicode::combining_class(d) != 0;
        s_.staged += d;
        s_.staged_src.push_back(src);
      }
    };
    for (int32_t k = begin; k < end; ++k) {
      char32_t c = s_.chars[static_cast<size_t>(k)];
      if (n.clean_text) {
        if (c == 0 || c == 0xFFFD) continue;
        const uint8_t f = unicode::flags(c);
        const bool tab_or_newline = c == '\t' || c == '\n' || c == '\r';
        if ((f & unicode::kOther) && !tab_or_newline) continue;
        if ((f & unicode::kWhitespace) || tab_or_newline) c = ' ';
      }
      if (n.handle_chinese_chars && unicode::has(c, unicode::kCjk)) {
        stage(' ', k);
        stage(c, k);
        stage(' ', k);
      } else {
        stage(c, k);
      }
    }
    // NFD's canonical ordering: runs of combining characters sorted (stably) by class. Marks
    // removed above do not change the order of the rest, a stable sort commuting with filtering.
    if (needs_reordering) reorder_combining_marks();
    s_.normalized.clear();
    s_.normalized_src.clear();
    for (size_t i = 0; i < s_.staged.size(); ++i) {
      const char32_t c = s_.staged[i];
      if (n.lowercase && unicode::has(c, unicode::kLowercaseDiffers)) {
        s_.expansion.clear();
        unicode::append_lowercase(c, s_.expansion);
        for (char32_t l : s_.expansion) {
          s_.normalized += l;
          s_.normalized_src.push_back(s_.staged_src[i]);
        }
      } else {
        s_.normalized += c;
        s_.normalized_src.push_back(s_.staged_src[i]);
      }
    }
  }

  void reorder_combining_marks() {
    const size_t n = s_.staged.size();
    for (size_t i = 0; i < n;) {
      if (unicode::combining_class(s_.staged[i]) == 0) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < n && unicode::combining_class(s_.staged[j]) != 0) ++j;
      // insertion sort keeps equal classes in order
      for (size_t a = i + 1; a < j; ++a)
        for (size_t b = a; b > i && unicode::combining_class(s_.staged[b - 1]) >
                                        unicode::combining_class(s_.staged[b]);
             --b) {
          std::swap(s_.staged[b - 1], s_.staged[b]);
          std::swap(s_.staged_src[b - 1], s_.staged_src[b]);
        }
      i = j;
    }
  }

  // Original characters [begin, end) hold no added token: normalize, split out normalized added
  // tokens, pre-tokenize and run WordPiece.
  void tokenize_segment(int32_t begin, int32_t end, std::vector<RawToken>& out) {
    if (begin >= end) return;
    normalize(begin, end);
    const int32_t n = static_cast<int32_t>(s_.normalized.size());
    int32_t start = 0;
    for (int32_t k = 0; k < n && has_normalized_added_tokens(); ++k) {
      for (const auto& a : t_.added_tokens) {
        if (!a.normalized) continue;
        std::u32string_view pattern = normalized_content(a);
        if (pattern.empty() ||
            s_.normalized.compare(static_cast<size_t>(k), pattern.size(), pattern) != 0)
          continue;
        pre_tokenize(start, k, out);
        const int32_t last = k + static_cast<int32_t>(pattern.size()) - 1;
        push(out, a.id, s_.normalized_src[static_cast<size_t>(k)],
             s_.normalized_src[static_cast<size_t>(last)] + 1);
        next_word();
        start = last + 1;
        k = last;
        break;
      }
    }
    pre_tokenize(start, n, out);
  }

  bool has_normalized_added_tokens() const;
  std::u32string_view normalized_content(const Impl::AddedToken& a) const;

  // BertPreTokenizer on normalized characters [begin, end): whitespace separates words, each
  // punctuation character is a word of its own.
  void pre_tokenize(int32_t begin, int32_t end, std::vector<RawToken>& out) {
    int32_t k = begin;
    while (k < end) {
      const uint8_t f = unicode::flags(s_.normalized[static_cast<size_t>(k)]);
      if (f & unicode::kWhitespace) {
        ++k;
        continue;
      }
      int32_t j = k + 1;
      if (!(f & unicode::kPunctuation))
        while (j < end && !(unicode::flags(s_.normalized[static_cast<size_t>(j)]) &
                            (unicode::kWhitespace | unicode::kPunctuation)))
          ++j;
      word_piece(k, j, out);
      next_word();
      k = j;
    }
  }

  // Greedy longest-match WordPiece over normalized characters [begin, end) of one word; a word
  // that cannot be covered, or is longer than max_input_chars_per_word, is one unknown token.
  void word_piece(int32_t begin, int32_t end, std::vector<RawToken>& out) {
    const int32_t n = end - begin;
    auto original = [&](int32_t a, int32_t b) {  // normalized [a, b) -> original span
      return std::pair<int32_t, int32_t>{s_.normalized_src[static_cast<size_t>(a)],
                                         s_.normalized_src[static_cast<size_t>(b - 1)] + 1};
    };
    auto push_unknown = [&] {
      auto [a, b] = original(begin, end);
      push(out, t_.unk_id, a, b);
    };
    if (n > t_.max_input_chars_per_word) {
      push_unknown();
      return;
    }
    s_.piece_utf8.clear();
    s_.piece_bytes.clear();
    for (int32_t k = begin; k < end; ++k) {
      s_.piece_bytes.push_back(static_cast<int32_t>(s_.piece_utf8.size()));
      unicode::append_utf8(s_.normalized[static_cast<size_t>(k)], s_.piece_utf8);
    }
    s_.piece_bytes.push_back(static_cast<int32_t>(s_.piece_utf8.size()));
    const size_t first = out.size();
    const std::string_view word(s_.piece_utf8);
    for (int32_t start = 0; start < n;) {
      const auto& pieces = start == 0 ? t_.initial_pieces : t_.continuation_pieces;
      int32_t found_end = -1, found_id = -1;
      for (int32_t e = std::min(n, start + t_.max_piece_chars); e > start; --e) {
        const auto from = static_cast<size_t>(s_.piece_bytes[static_cast<size_t>(start)]);
        const auto to = static_cast<size_t>(s_.piece_bytes[static_cast<size_t>(e)]);
        auto it = pieces.find(word.substr(from, to - from));
        if (it != pieces.end()) {
          found_end = e;
          found_id = it->second;
          break;
        }
      }
      if (found_end < 0) {
        out.resize(first);
        push_unknown();
        return;
      }
      auto [a, b] = original(begin + start, begin + found_end);
      push(out, found_id, a, b);
      start = found_end;
    }
  }

  const Impl& t_;
  Scratch& s_;
  int32_t word_ = 0;
  int32_t fixed_word_ = -1;
};

// Normalized added tokens are rare (BERT's specials are matched in the original text); their
// normalized forms are computed once per thread.
thread_local const Impl* tls_normalized_for = nullptr;
thread_local std::vector<std::u32string> tls_normalized_contents;

bool Encoder::has_normalized_added_tokens() const {
  for (const auto& a : t_.added_tokens)
    if (a.normalized) return true;
  return false;
}

std::u32string_view Encoder::normalized_content(const Impl::AddedToken& a) const {
  if (tls_normalized_for != &t_) {
    tls_normalized_contents.clear();
    for (const auto& token : t_.added_tokens) {
      std::u32string normalized;
      if (token.normalized) {
        Scratch scratch;
        Encoder e(t_, scratch);
        e.decode(token.content);
        e.normalize(0, static_cast<int32_t>(scratch.chars.size()));
        normalized = scratch.normalized;
      }
      tls_normalized_contents.push_back(std::move(normalized));
    }
    tls_normalized_for = &t_;
  }
  return tls_normalized_contents[static_cast<size_t>(&a - t_.added_tokens.data())];
}

void truncate_to(std::vector<RawToken>& tokens, int64_t length) {
  if (length < static_cast<int64_t>(tokens.size()))
    tokens.resize(static_cast<size_t>(std::max<int64_t>(length, 0)));
}

// Hugging Face's truncation as tokenizers 0.23 behaves (established case by case against it; see
// the truncation cases of shared/golden). longest_first on a pair: the shorter sequence keeps its
// length when the longer can still keep as many tokens, otherwise the shorter gets limit/2 and
// the longer the rest; when even the shorter exceeds the limit, the first sequence gets limit/2
// and the second the rest. A max_length below the number of special tokens leaves each sequence
// max(max_length, 1) tokens.
void truncate(std::vector<RawToken>& a, std::vector<RawToken>* b, const EncodeOptions& options,
              int added) {
  const int64_t max_length = options.max_length;
  if (max_length <= 0) return;
  if (max_length < added) {
    const int64_t cap = std::max<int64_t>(max_length, 1);
    if (options.truncation != TruncationStrategy::only_second) truncate_to(a, cap);
    if (b && options.truncation != TruncationStrategy::only_first) truncate_to(*b, cap);
    return;
  }
  const int64_t limit = max_length - added;
  const int64_t len_a = static_cast<int64_t>(a.size()),
                len_b = b ? static_cast<int64_t>(b->size()) : 0;
  const int64_t total = len_a + len_b;
  if (total <= limit) return;
  const int64_t to_remove = total - limit;
  switch (options.truncation) {
    case TruncationStrategy::longest_first: {
      if (!b) {
        truncate_to(a, total - to_remove);
        return;
      }
      int64_t first, second;
      const int64_t shorter = std::min(len_a, len_b);
      if (shorter > limit) {
        first = limit / 2;
        second = limit / 2 + limit % 2;
      } else {
        int64_t n_short = shorter, n_long = std::max(shorter, limit - shorter);
        if (n_short + n_long > limit) {
          n_short = limit / 2;
          n_long = limit / 2 + limit % 2;
        }
        first = len_a > len_b ? n_long : n_short;
        second = len_a > len_b ? n_short : n_long;
      }
      truncate_to(a, first);
      truncate_to(*b, second);
      return;
    }
    case TruncationStrategy::only_first:
    case TruncationStrategy::only_second: {
      std::vector<RawToken>* target = options.truncation == TruncationStrategy::only_first ? &a : b;
      if (!target) fail("Truncation error: Second sequence not provided");
      if (static_cast<int64_t>(target->size()) <= to_remove)
        fail("Truncation error: Sequence to truncate too short to respect the provided max_length");
      truncate_to(*target, static_cast<int64_t>(target->size()) - to_remove);
      return;
    }
  }
}

void append_sequence(const std::vector<RawToken>& tokens, int sequence, int32_t type_id,
                     Encoding& out) {
  for (const RawToken& t : tokens) {
    out.ids.push_back(t.id);
    out.type_ids.push_back(type_id);
    out.offsets.push_back({t.start, t.end});
    out.byte_offsets.push_back({t.byte_start, t.byte_end});
    out.word_ids.push_back(t.word);
    out.sequence_ids.push_back(static_cast<int8_t>(sequence));
    out.special_tokens_mask.push_back(0);
  }
}

void apply_template(const Impl& t, const std::vector<RawToken>& a, const std::vector<RawToken>* b,
                    bool add_special_tokens, Encoding& out) {
  out.clear();
  if (!add_special_tokens) {
    append_sequence(a, 0, 0, out);
    if (b) append_sequence(*b, 1, 1, out);
    return;
  }
  for (const auto& piece : b ? t.pair_template : t.single_template) {
    if (piece.is_sequence) {
      append_sequence(piece.sequence == 0 ? a : *b, piece.sequence, piece.type_id, out);
      continue;
    }
    for (int32_t id : piece.special_ids) {
      out.ids.push_back(id);
      out.type_ids.push_back(piece.type_id);
      out.offsets.push_back({0, 0});
      out.byte_offsets.push_back({0, 0});
      out.word_ids.push_back(-1);
      out.sequence_ids.push_back(-1);
      out.special_tokens_mask.push_back(1);
    }
  }
}

int count_special(const std::vector<Impl::TemplatePiece>& pieces) {
  int n = 0;
  for (const auto& p : pieces) n += static_cast<int>(p.special_ids.size());
  return n;
}

}  // namespace

void Encoding::clear() {
  ids.clear();
  type_ids.clear();
  offsets.clear();
  byte_offsets.clear();
  word_ids.clear();
  sequence_ids.clear();
  special_tokens_mask.clear();
}

const char* truncation_strategy_name(TruncationStrategy s) {
  switch (s) {
    case TruncationStrategy::longest_first:
      return "longest_first";
    case TruncationStrategy::only_first:
      return "only_first";
    case TruncationStrategy::only_second:
      return "only_second";
  }
  return "?";
}

std::optional<TruncationStrategy> parse_truncation_strategy(std::string_view name) {
  for (auto s : {TruncationStrategy::longest_first, TruncationStrategy::only_first,
                 TruncationStrategy::only_second})
    if (name == truncation_strategy_name(s)) return s;
  return std::nullopt;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

void Tokenizer::encode(std::string_view text, const std::string_view* pair,
                       const EncodeOptions& options, Encoding& out) const {
  Scratch& s = tls_scratch;
  Encoder encoder(*impl_, s);
  encoder.tokenize(text, s.sequences[0]);
  if (pair) encoder.tokenize(*pair, s.sequences[1]);
  std::vector<RawToken>* second = pair ? &s.sequences[1] : nullptr;
  truncate(s.sequences[0], second, options,
           options.add_special_tokens ? num_special_tokens(pair != nullptr) : 0);
  apply_template(*impl_, s.sequences[0], second, options.add_special_tokens, out);
}

Encoding Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  Encoding e;
  encode(text, nullptr, options, e);
  return e;
}

Encoding Tokenizer::encode_pair(std::string_view text, std::string_view pair,
                                const EncodeOptions& options) const {
  Encoding e;
  encode(text, &pair, options, e);
  return e;
}

void Tokenizer::encode_words(const std::vector<std::string_view>& words,
                             const EncodeOptions& options, Encoding& out) const {
  Scratch& s = tls_scratch;
  Encoder encoder(*impl_, s);
  std::vector<RawToken>& all = s.sequences[0];
  std::vector<RawToken>& one = s.sequences[1];
  all.clear();
  for (size_t w = 0; w < words.size(); ++w) {
    encoder.tokenize(words[w], one, static_cast<int32_t>(w));
    all.insert(all.end(), one.begin(), one.end());
  }
  truncate(all, nullptr, options, options.add_special_tokens ? num_special_tokens(false) : 0);
  apply_template(*impl_, all, nullptr, options.add_special_tokens, out);
}

void Tokenizer::post_process(const Encoding& first, const Encoding* second, Encoding& out) const {
  auto to_raw = [](const Encoding& e, std::vector<RawToken>& raw) {
    raw.clear();
    for (size_t i = 0; i < e.size(); ++i)
      raw.push_back({e.ids[i], e.offsets[i].start, e.offsets[i].end, e.byte_offsets[i].start,
                     e.byte_offsets[i].end, e.word_ids[i]});
  };
  Scratch& s = tls_scratch;
  to_raw(first, s.sequences[0]);
  if (second) to_raw(*second, s.sequences[1]);
  apply_template(*impl_, s.sequences[0], second ? &s.sequences[1] : nullptr, true, out);
}

const std::string& Tokenizer::id_to_token(int32_t id) const {
  static const std::string unknown;
  if (id < 0 || static_cast<size_t>(id) >= impl_->vocab.size()) return unknown;
  return impl_->vocab[static_cast<size_t>(id)];
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  auto it = impl_->token_ids.find(token);
  if (it == impl_->token_ids.end()) return std::nullopt;
  return it->second;
}

int32_t Tokenizer::vocab_size() const {
  return static_cast<int32_t>(impl_->vocab.size());
}
int32_t Tokenizer::pad_token_id() const {
  return impl_->pad_id;
}
int64_t Tokenizer::model_max_length() const {
  return impl_->model_max_length;
}
int Tokenizer::num_special_tokens(bool pair) const {
  return count_special(pair ? impl_->pair_template : impl_->single_template);
}
const std::string& Tokenizer::source() const {
  return impl_->source;
}

}  // namespace sparq
