#include "tokenizer/unicode.h"

#include <algorithm>

namespace sparq::tokenizer::unicode {
namespace {

struct MappingEntry {
  char32_t code;
  uint32_t offset;
  uint32_t length;
};

struct CombiningClass {
  char32_t code;
  uint8_t value;
};

#include "tokenizer/unicode_tables.inc"

constexpr char32_t kHangulBase = 0xAC00, kJamoL = 0x1100, kJamoV = 0x1161, kJamoT = 0x11A7;
constexpr int kJamoVCount = 21, kJamoTCount = 28, kHangulCount = 11172;

template <size_t N>
const MappingEntry* find_mapping(const MappingEntry (&entries)[N], char32_t c) {
  auto it = std::lower_bound(std::begin(entries), std::end(entries), c,
                             [](const MappingEntry& e, char32_t v) { return e.code < v; });
  return it != std::end(entries) && it->code == c ? it : nullptr;
}

}  // namespace

uint8_t flags(char32_t c) {
  if (c >= 0x110000) return kOther;
  return kUnicodeBlocks[kUnicodeBlockIndex[c >> kUnicodeBlockShift]]
                       [c & ((1u << kUnicodeBlockShift) - 1)];
}

void append_decomposition(char32_t c, std::u32string& out) {
  if (c >= kHangulBase && c < kHangulBase + kHangulCount) {
    const int s = static_cast<int>(c - kHangulBase);
    out += static_cast<char32_t>(kJamoL + s / (kJamoVCount * kJamoTCount));
    out += static_cast<char32_t>(kJamoV + (s % (kJamoVCount * kJamoTCount)) / kJamoTCount);
    if (s % kJamoTCount) out += static_cast<char32_t>(kJamoT + s % kJamoTCount);
    return;
  }
  if (const MappingEntry* e = find_mapping(kDecompositionEntries, c))
    out.append(kDecompositionPool + e->offset, e->length);
  else
    out += c;
}

uint8_t combining_class(char32_t c) {
  auto it = std::lower_bound(std::begin(kCombiningClasses), std::end(kCombiningClasses), c,
                             [](const CombiningClass& e, char32_t v) { return e.code < v; });
  return it != std::end(kCombiningClasses) && it->code == c ? it->value : 0;
}

void append_lowercase(char32_t c, std::u32string& out) {
  if (const MappingEntry* e = find_mapping(kLowercaseEntries, c))
    out.append(kLowercasePool + e->offset, e->length);
  else
    out += c;
}

bool decode_utf8(std::string_view s, size_t& i, char32_t& c) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    c = b0;
    ++i;
    return true;
  }
  int extra;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    extra = 1, min = 0x80, c = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2, min = 0x800, c = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3, min = 0x10000, c = b0 & 0x07;
  } else {
    return false;
  }
  if (i + static_cast<size_t>(extra) >= s.size()) return false;  // truncated sequence
  for (int k = 1; k <= extra; ++k) {
    const unsigned char b = byte(i + static_cast<size_t>(k));
    if ((b & 0xC0) != 0x80) return false;
    c = (c << 6) | (b & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
  i += static_cast<size_t>(extra) + 1;
  return true;
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

size_t find_invalid_utf8(std::string_view s) {
  size_t i = 0;
  char32_t c;
  while (i < s.size()) {
    if (!decode_utf8(s, i, c)) return i;
  }
  return std::string_view::npos;
}

}  // namespace sparq::tokenizer::unicode
