#include "io/json_io.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace sparq::io {
namespace {

using nlohmann::json;

// Reads one [batch, seq] integer field; returns false when absent.
bool read_matrix(const json& doc, const char* field, const std::string& source, int64_t& batch,
                 int64_t& seq, std::vector<int32_t>& values) {
  auto it = doc.find(field);
  if (it == doc.end() || it->is_null()) return false;
  const json& v = *it;
  if (!v.is_array()) fail("{}: '{}' must be a list of lists of integers", source, field);
  if (v.empty()) fail("{}: '{}' has no sequences", source, field);
  // a flat list of numbers is a single sequence
  const json rows = v.front().is_array() ? v : json::array({v});
  int64_t width = -1;
  values.clear();
  for (size_t r = 0; r < rows.size(); ++r) {
    const json& row = rows[r];
    if (!row.is_array()) fail("{}: '{}' row {} is not a list", source, field, r);
    if (width < 0) width = static_cast<int64_t>(row.size());
    if (static_cast<int64_t>(row.size()) != width)
      fail(
          "{}: '{}' row {} has {} values but row 0 has {}; pad every row to one length "
          "(marking padding with attention_mask 0)",
          source, field, r, row.size(), width);
    for (size_t i = 0; i < row.size(); ++i) {
      const json& x = row[i];
      if (!x.is_number_integer())
        fail("{}: '{}'[{}][{}] is {}, not an integer", source, field, r, i, x.dump());
      const int64_t value = x.get<int64_t>();
      if (value < std::numeric_limits<int32_t>::min() ||
          value > std::numeric_limits<int32_t>::max())
        fail("{}: '{}'[{}][{}] = {} is out of range", source, field, r, i, value);
      values.push_back(static_cast<int32_t>(value));
    }
  }
  batch = static_cast<int64_t>(rows.size());
  seq = width;
  return true;
}

void append_float(std::string& out, float v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  fmt::format_to(std::back_inserter(out), "{}", v);
}

void append_nested(std::string& out, const float* data, const int64_t* shape, size_t rank) {
  out += '[';
  if (rank == 1) {
    for (int64_t i = 0; i < shape[0]; ++i) {
      if (i) out += ',';
      append_float(out, data[i]);
    }
  } else {
    int64_t inner = 1;
    for (size_t d = 1; d < rank; ++d) inner *= shape[d];
    for (int64_t i = 0; i < shape[0]; ++i) {
      if (i) out += ',';
      append_nested(out, data + i * inner, shape + 1, rank - 1);
    }
  }
  out += ']';
}

}  // namespace

EncoderInput parse_encoder_input(const std::string& json_text, const std::string& source) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON ({})", source, e.what());
  }
  if (!doc.is_object()) fail("{}: expected a JSON object with 'input_ids'", source);
  EncoderInput in;
  if (!read_matrix(doc, "input_ids", source, in.batch, in.seq, in.input_ids))
    fail("{}: 'input_ids' is missing", source);
  for (const char* field : {"attention_mask", "token_type_ids"}) {
    int64_t batch = 0, seq = 0;
    std::vector<int32_t>& target =
        std::string(field) == "attention_mask" ? in.attention_mask : in.token_type_ids;
    if (read_matrix(doc, field, source, batch, seq, target) && (batch != in.batch || seq != in.seq))
      fail("{}: '{}' is {} x {} but 'input_ids' is {} x {}", source, field, batch, seq, in.batch,
           in.seq);
  }
  return in;
}

void append_tensor_json(std::string& out, const Tensor& tensor) {
  if (tensor.shape.empty()) {
    out += "[]";
    return;
  }
  append_nested(out, tensor.data.data(), tensor.shape.data(), tensor.shape.size());
}

std::string encoder_output_json(const EncoderOutput& output) {
  std::string out = "{";
  bool first = true;
  auto field = [&](const char* name, const Tensor& t) {
    if (t.empty()) return;
    if (!first) out += ", ";
    first = false;
    fmt::format_to(std::back_inserter(out), "\"{}\": ", name);
    append_tensor_json(out, t);
  };
  field("logits", output.logits);
  field("start_logits", output.start_logits);
  field("end_logits", output.end_logits);
  field("last_hidden_state", output.last_hidden_state);
  field("pooler_output", output.pooler_output);
  if (!output.hidden_states.empty()) {
    if (!first) out += ", ";
    first = false;
    out += "\"hidden_states\": [";
    for (size_t i = 0; i < output.hidden_states.size(); ++i) {
      if (i) out += ',';
      append_tensor_json(out, output.hidden_states[i]);
    }
    out += ']';
  }
  out += "}";
  return out;
}

}  // namespace sparq::io
