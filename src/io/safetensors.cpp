#include "io/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/checked_math.h"
#include "core/error.h"
#include "core/half.h"

namespace sparq::io {
namespace {

using nlohmann::json;

struct DTypeEntry {
  DType dtype;
  std::string_view name;
  size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::F64, "F64", 8},   {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},   {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
};

const DTypeEntry* find_dtype(std::string_view name) {
  for (const auto& e : kDTypes)
    if (e.name == name) return &e;
  return nullptr;
}

// Parses the header, rejecting duplicate names and nesting deeper than any valid header has.
json parse_header_json(const std::string& path, std::string_view text) {
  std::set<std::string> seen;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > 8) fail("{}: header JSON is nested too deeply", path);
    if (event == json::parse_event_t::key && depth == 1) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second) fail("{}: header names tensor '{}' twice", path, key);
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const json::exception& e) {
    fail("{}: header is not valid JSON ({})", path, e.what());
  }
}

}  // namespace

std::string_view dtype_name(DType dtype) {
  for (const auto& e : kDTypes)
    if (e.dtype == dtype) return e.name;
  return "?";
}

size_t dtype_size(DType dtype) {
  for (const auto& e : kDTypes)
    if (e.dtype == dtype) return e.size;
  return 0;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path) {
  const uint64_t file_size = file_.size();
  if (file_size < 8)
    fail("{}: file is {} bytes, too short for a safetensors header", path, file_size);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | file_.data()[i];
  if (header_size > kMaxHeaderBytes)
    fail("{}: header length {} exceeds the {} byte limit", path, header_size, kMaxHeaderBytes);
  if (header_size > file_size - 8)
    fail("{}: header length {} runs past the end of the {}-byte file", path, header_size,
         file_size);
  if (header_size < 2)
    fail("{}: header length {} is too short for a JSON object", path, header_size);
  std::string_view header_text(reinterpret_cast<const char*>(file_.data() + 8), header_size);
  if (header_text.front() != '{') fail("{}: header does not start with '{{'", path);

  json header = parse_header_json(path, header_text);
  if (!header.is_object()) fail("{}: header is not a JSON object", path);

  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = file_size - data_start;
  const uint8_t* data = file_.data() + data_start;

  for (auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail("{}: __metadata__ is not an object", path);
      for (auto& [key, value] : entry.items()) {
        if (!value.is_string()) fail("{}: __metadata__ value '{}' is not a string", path, key);
        metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object()) fail("{}: entry for tensor '{}' is not an object", path, name);
    for (auto& [key, value] : entry.items()) {
      (void)value;
      if (key != "dtype" && key != "shape" && key != "data_offsets")
        fail("{}: tensor '{}' has unknown field '{}'", path, name, key);
    }
    TensorInfo t;
    t.name = name;
    auto dtype_it = entry.find("dtype");
    if (dtype_it == entry.end() || !dtype_it->is_string())
      fail("{}: tensor '{}' has no dtype string", path, name);
    const DTypeEntry* dt = find_dtype(dtype_it->get_ref<const std::string&>());
    if (!dt)
      fail("{}: tensor '{}' has unknown dtype '{}'", path, name,
           dtype_it->get_ref<const std::string&>());
    t.dtype = dt->dtype;

    auto shape_it = entry.find("shape");
    if (shape_it == entry.end() || !shape_it->is_array())
      fail("{}: tensor '{}' has no shape list", path, name);
    uint64_t count = 1;
    for (auto& dim : *shape_it) {
      if (!dim.is_number_unsigned())
        fail("{}: tensor '{}' has a shape entry that is not a non-negative integer", path, name);
      uint64_t d = dim.get<uint64_t>();
      auto product = core::checked_mul(count, d);
      if (!product || d > static_cast<uint64_t>(INT64_MAX))
        fail("{}: tensor '{}' shape overflows", path, name);
      count = *product;
      t.shape.push_back(static_cast<int64_t>(d));
    }
    t.element_count = count;

    auto offsets_it = entry.find("data_offsets");
    if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
        !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned())
      fail("{}: tensor '{}' needs data_offsets [begin, end] of non-negative integers", path, name);
    uint64_t begin = (*offsets_it)[0].get<uint64_t>();
    uint64_t end = (*offsets_it)[1].get<uint64_t>();
    if (end < begin)
      fail("{}: tensor '{}' has data_offsets end {} before begin {}", path, name, end, begin);
    if (end > data_size)
      fail("{}: tensor '{}' data_offsets [{}, {}] lie outside the {}-byte data buffer", path, name,
           begin, end, data_size);
    auto bytes = core::checked_mul(count, dt->size);
    if (!bytes || *bytes != end - begin)
      fail("{}: tensor '{}' is {} {} but its data_offsets span {} bytes", path, name, dt->name,
           shape_string(t.shape), end - begin);
    t.byte_offset = begin;
    t.byte_size = end - begin;
    t.data = data + begin;
    tensors_.push_back(std::move(t));
  }

  std::sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.byte_offset != b.byte_offset ? a.byte_offset < b.byte_offset
                                          : a.byte_size < b.byte_size;
  });
  uint64_t expected = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const TensorInfo& t = tensors_[i];
    if (t.byte_offset < expected)
      fail("{}: tensor '{}' data_offsets [{}, {}] overlap tensor '{}'", path, t.name, t.byte_offset,
           t.byte_offset + t.byte_size, tensors_[i - 1].name);
    if (t.byte_offset > expected)
      fail("{}: bytes {}..{} of the data buffer belong to no tensor (before '{}')", path, expected,
           t.byte_offset, t.name);
    expected = t.byte_offset + t.byte_size;
  }
  if (expected != data_size)
    fail(
        "{}: tensors end at byte {} of the data buffer but the file holds {} (truncated or padded "
        "file)",
        path, expected, data_size);
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void read_as_f32(const TensorInfo& t, float* out) {
  const uint64_t n = t.element_count;
  switch (t.dtype) {
    case DType::F32:
      std::memcpy(out, t.data, n * sizeof(float));
      break;
    case DType::F16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = core::f16_to_f32(h);
      }
      break;
    case DType::BF16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = core::bf16_to_f32(h);
      }
      break;
    default:
      fail("tensor '{}' has dtype {}, not a floating-point type", t.name, dtype_name(t.dtype));
  }
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    uint64_t count = 1;
    for (int64_t d : t.shape) count *= static_cast<uint64_t>(d);
    if (count * dtype_size(t.dtype) != t.byte_size)
      fail("write_safetensors: tensor '{}' is {} {} but {} bytes were given", t.name,
           dtype_name(t.dtype), shape_string(t.shape), t.byte_size);
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.byte_size}}};
    offset += t.byte_size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot create {}", tmp);
    uint64_t n = text.size();
    unsigned char length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(length), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : tensors)
      out.write(static_cast<const char*>(t.data), static_cast<std::streamsize>(t.byte_size));
    out.flush();
    if (!out) fail("cannot write {}", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename {} to {}", tmp, path);
}

}  // namespace sparq::io
