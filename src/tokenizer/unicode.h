// The Unicode character data the BERT tokenizer needs (generated from the Unicode database by
// gen_unicode_tables.py), and UTF-8 decoding that rejects malformed input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sparq::tokenizer::unicode {

enum Flag : uint8_t {
  kOther = 1,           // general category C*: control, format, surrogate, private use, unassigned
  kMarkNonspacing = 2,  // Mn
  kPunctuation = 4,     // P*, or ASCII punctuation
  kWhitespace = 8,      // White_Space
  kCjk = 16,            // CJK ideographs
  kDecomposes = 32,     // has a canonical decomposition
  kLowercaseDiffers = 64,
  kWordChar = 128,  // alphanumeric or underscore (Python's \w)
};

uint8_t flags(char32_t c);
inline bool has(char32_t c, Flag f) {
  return (flags(c) & f) != 0;
}

// Appends c's full canonical decomposition (NFD of one character, before reordering).
void append_decomposition(char32_t c, std::u32string& out);
uint8_t combining_class(char32_t c);
// Appends the full lowercase mapping of c (one to three characters).
void append_lowercase(char32_t c, std::u32string& out);

// Decodes one UTF-8 character at s[i], advancing i; returns false (leaving i) on malformed input
// (bad lead or continuation bytes, overlong forms, surrogates, values above U+10FFFF, truncation).
bool decode_utf8(std::string_view s, size_t& i, char32_t& c);
void append_utf8(char32_t c, std::string& out);
// The byte offset of the first malformed sequence, or npos.
size_t find_invalid_utf8(std::string_view s);

}  // namespace sparq::tokenizer::unicode
