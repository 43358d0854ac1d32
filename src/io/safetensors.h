// Reader (and writer) for Hugging Face safetensors files, memory-mapped. The header is validated
// as strictly as the reference implementation does: bounded size, a JSON object without
// duplicate names, known dtypes, shapes whose byte size matches their offsets (overflow-checked),
// offsets that tile the data buffer exactly (sorted, contiguous, non-overlapping, ending at the
// end of the file).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "io/mapped_file.h"

namespace sparq::io {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

std::string_view dtype_name(DType dtype);
size_t dtype_size(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t element_count = 0;
  uint64_t byte_offset = 0;  // from the start of the data buffer
  uint64_t byte_size = 0;
  const uint8_t* data = nullptr;  // points into the mapping
};

std::string shape_string(const std::vector<int64_t>& shape);

class SafetensorsFile {
 public:
  static constexpr uint64_t kMaxHeaderBytes = 100u << 20;

  explicit SafetensorsFile(const std::string& path);  // throws sparq::Error

  const std::string& path() const { return file_.path(); }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  uint64_t file_size() const { return file_.size(); }

 private:
  MappedFile file_;
  std::vector<TensorInfo> tensors_;  // in file order (sorted by offset)
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// Converts a floating-point tensor (F32, F16, BF16) to fp32; throws sparq::Error for other dtypes.
void read_as_f32(const TensorInfo& tensor, float* out);

// A tensor to write: raw little-endian bytes of dtype × shape.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t byte_size = 0;
};

// Writes tensors in the given order with the header padded to 8 bytes, as Hugging Face does.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace sparq::io
