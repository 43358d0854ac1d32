// The safetensors reader on valid, hand-made broken and randomly corrupted files: every defect is
// a sparq::Error naming it, never a crash or an out-of-bounds read (the suite also runs under
// AddressSanitizer).
#include <gtest/gtest.h>

#include <random>

#include "io/safetensors.h"
#include "sparq/error.h"
#include "test_util.h"

namespace sparq::io {
namespace {

using test::RawSafetensors;
using Json = nlohmann::ordered_json;

std::string tiny_weights() {
  return test::synthetic_dir() + "/tiny/model.safetensors";
}

// Writes a variant of the tiny model's file and returns the error loading it gives ("" if none).
std::string load_error(const std::string& name, const Json& header, const std::string& data,
                       int64_t header_length = -1) {
  std::string path = test::temp_dir("safetensors-" + name) + "/model.safetensors";
  test::write_raw_safetensors(path, header, data, header_length);
  try {
    SafetensorsFile file(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, ReadsTheTinyModel) {
  SafetensorsFile file(tiny_weights());
  ASSERT_NE(file.find("bert.embeddings.word_embeddings.weight"), nullptr);
  const TensorInfo& t = *file.find("bert.embeddings.word_embeddings.weight");
  EXPECT_EQ(t.dtype, DType::F32);
  EXPECT_EQ(t.shape, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(t.byte_size, 256u * 64u * 4u);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.find("nope"), nullptr);
}

TEST(Safetensors, WriterRoundTrips) {
  std::vector<float> a = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  std::vector<int8_t> b = {-1, 2, -3};
  std::string path = test::temp_dir("safetensors-roundtrip") + "/x.safetensors";
  write_safetensors(
      path, {{"a", DType::F32, {2, 3}, a.data(), a.size() * 4}, {"b", DType::I8, {3}, b.data(), 3}},
      {{"k", "v"}});
  SafetensorsFile file(path);
  ASSERT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(std::memcmp(file.find("a")->data, a.data(), 24), 0);
  EXPECT_EQ(file.find("b")->dtype, DType::I8);
  EXPECT_EQ(file.metadata().at("k"), "v");
}

class BrokenSafetensors : public ::testing::Test {
 protected:
  void SetUp() override { raw_ = test::read_raw_safetensors(tiny_weights()); }
  Json& tensor(const std::string& name) { return raw_.header[name]; }
  RawSafetensors raw_;
};

TEST_F(BrokenSafetensors, Truncated) {
  std::string data = raw_.data.substr(0, raw_.data.size() / 2);
  EXPECT_NE(load_error("truncated", raw_.header, data).find("outside the"), std::string::npos);
}

TEST_F(BrokenSafetensors, ShorterThanItsLengthPrefix) {
  std::string path = test::temp_dir("safetensors-tiny") + "/model.safetensors";
  test::write_file(path, std::string("\x10\x00\x00", 3));
  EXPECT_THROW(
      {
        try {
          SafetensorsFile f(path);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("too short"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
}

TEST_F(BrokenSafetensors, HeaderLengthBeyondFile) {
  EXPECT_NE(load_error("hlen", raw_.header, raw_.data, 1ll << 40).find("exceeds the"),
            std::string::npos);
  EXPECT_NE(
      load_error("hlen2", raw_.header, "", static_cast<int64_t>(raw_.header.dump().size()) + 100)
          .find("runs past the end"),
      std::string::npos);
}

TEST_F(BrokenSafetensors, HeaderNotJson) {
  std::string path = test::temp_dir("safetensors-notjson") + "/model.safetensors";
  std::string text = "{\"a\": [1, 2";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(text.size());
  test::write_file(path, bytes + text);
  try {
    SafetensorsFile f(path);
    FAIL() << "loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
}

TEST_F(BrokenSafetensors, OffsetsOutOfRange) {
  tensor("classifier.bias")["data_offsets"] = {raw_.data.size() - 8, raw_.data.size() + 8};
  EXPECT_NE(load_error("range", raw_.header, raw_.data).find("outside the"), std::string::npos);
}

TEST_F(BrokenSafetensors, OffsetsOverlap) {
  // classifier.bias claims the first 8 bytes, which the first tensor owns
  tensor("classifier.bias")["data_offsets"] = {0, 8};
  std::string err = load_error("overlap", raw_.header, raw_.data);
  EXPECT_NE(err.find("overlap"), std::string::npos) << err;
}

TEST_F(BrokenSafetensors, OffsetsLeaveAGap) {
  auto& offsets = tensor("bert.embeddings.word_embeddings.weight")["data_offsets"];
  offsets = {offsets[0].get<uint64_t>() + 4, offsets[1].get<uint64_t>() + 4};
  std::string err = load_error("gap", raw_.header, raw_.data);
  EXPECT_FALSE(err.empty());
}

TEST_F(BrokenSafetensors, SizeDisagreesWithShape) {
  tensor("classifier.bias")["shape"] = {3};
  EXPECT_NE(load_error("size", raw_.header, raw_.data).find("data_offsets span"),
            std::string::npos);
}

TEST_F(BrokenSafetensors, ShapeOverflows) {
  tensor("classifier.bias")["shape"] = {1ull << 40, 1ull << 40};
  EXPECT_NE(load_error("overflow", raw_.header, raw_.data).find("overflows"), std::string::npos);
}

TEST_F(BrokenSafetensors, UnknownDtype) {
  tensor("classifier.bias")["dtype"] = "F8_E9";
  EXPECT_NE(load_error("dtype", raw_.header, raw_.data).find("unknown dtype 'F8_E9'"),
            std::string::npos);
}

TEST_F(BrokenSafetensors, NegativeOrFractionalShape) {
  tensor("classifier.bias")["shape"] = {-2};
  EXPECT_NE(load_error("neg", raw_.header, raw_.data).find("non-negative integer"),
            std::string::npos);
  tensor("classifier.bias")["shape"] = {2.5};
  EXPECT_NE(load_error("frac", raw_.header, raw_.data).find("non-negative integer"),
            std::string::npos);
}

TEST_F(BrokenSafetensors, DuplicateName) {
  std::string text = raw_.header.dump();
  // repeat the last entry's key at the end of the object
  auto last = raw_.header.items().begin();
  for (auto it = raw_.header.items().begin(); it != raw_.header.items().end(); ++it) last = it;
  text.pop_back();
  text += ",\"" + last.key() + "\":" + last.value().dump() + "}";
  std::string path = test::temp_dir("safetensors-dup") + "/model.safetensors";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[static_cast<size_t>(i)] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  test::write_file(path, bytes + text + raw_.data);
  try {
    SafetensorsFile f(path);
    FAIL() << "loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("twice"), std::string::npos) << e.what();
  }
}

TEST_F(BrokenSafetensors, MissingFieldsAndWrongTypes) {
  Json saved = tensor("classifier.bias");
  tensor("classifier.bias").erase("dtype");
  EXPECT_NE(load_error("nodtype", raw_.header, raw_.data).find("no dtype"), std::string::npos);
  tensor("classifier.bias") = saved;
  tensor("classifier.bias")["data_offsets"] = {1};
  EXPECT_NE(load_error("offsets1", raw_.header, raw_.data).find("data_offsets"), std::string::npos);
  tensor("classifier.bias") = "oops";
  EXPECT_NE(load_error("notobject", raw_.header, raw_.data).find("not an object"),
            std::string::npos);
  tensor("classifier.bias") = saved;
  raw_.header["__metadata__"] = {{"format", 5}};
  EXPECT_NE(load_error("meta", raw_.header, raw_.data).find("__metadata__"), std::string::npos);
}

// Random byte damage anywhere in the header or the length prefix must give an error or a valid
// file, never a crash.
TEST_F(BrokenSafetensors, RandomCorruptionNeverCrashes) {
  const std::string original = test::read_file(tiny_weights());
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i)
    header_len = (header_len << 8) | static_cast<unsigned char>(original[static_cast<size_t>(i)]);
  std::mt19937 rng(42);
  std::string path = test::temp_dir("safetensors-fuzz") + "/model.safetensors";
  int errors = 0;
  for (int round = 0; round < 300; ++round) {
    std::string bytes = original;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      size_t at = rng() % (8 + header_len);
      bytes[at] = static_cast<char>(rng() & 0xff);
    }
    if (round % 10 == 0) bytes.resize(rng() % bytes.size());
    test::write_file(path, bytes);
    try {
      SafetensorsFile file(path);
      for (const auto& t : file.tensors()) ASSERT_LE(t.byte_offset + t.byte_size, file.file_size());
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 200);
}

}  // namespace
}  // namespace sparq::io
