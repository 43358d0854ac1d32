// Running a model: a Stream owns a team of threads and the scratch memory of one inference at a
// time; many streams may share one Model. A stream is not thread-safe; use one per caller thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sparq/model.h"

namespace sparq {

// A batch of token sequences of one padded length, row-major [batch, seq].
struct EncoderInput {
  int64_t batch = 0;
  int64_t seq = 0;
  std::vector<int32_t> input_ids;
  std::vector<int32_t> attention_mask;  // empty: all ones
  std::vector<int32_t> token_type_ids;  // empty: all zeros
};

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  bool empty() const { return data.empty(); }
};

// The fp32 input of an encoder layer's Linear layers (query, key and value share one), as
// calibration sees it.
struct LinearInputView {
  int64_t layer = 0;
  int slot = 0;  // 0 query/key/value, 1 attention output, 2 intermediate, 3 output
  const float* data = nullptr;
  int64_t rows = 0, cols = 0, ld = 0;
  const int32_t* attention_mask = nullptr;  // [rows], 0 for padding; null when every row is valid
};

// Time spent per kind of operation, summed over layers and calls (RunOptions::profile).
struct OperationProfile {
  std::vector<std::pair<std::string, double>> seconds;  // in first-use order
  void add(const char* operation, double s);
};

struct RunOptions {
  bool last_hidden_state = false;  // always produced for encoder-only models
  bool all_hidden_states = false;  // embedding output and every layer's output
  std::function<void(const LinearInputView&)> observe_linear_inputs;
  OperationProfile* profile = nullptr;  // when set, each operation's time is added to it
};

struct EncoderOutput {
  Tensor logits;                      // [batch, labels] or, per token, [batch, seq, labels]
  Tensor start_logits, end_logits;    // question answering: [batch, seq]
  Tensor last_hidden_state;           // [batch, seq, hidden]
  Tensor pooler_output;               // encoder-only models with a pooler: [batch, hidden]
  std::vector<Tensor> hidden_states;  // layers + 1 of [batch, seq, hidden]
};

struct StreamOptions {
  int threads = 0;  // 0: the machine's physical cores
};

// Checks an input against a model; throws sparq::Error naming the first problem.
void validate_input(const Model& model, const EncoderInput& input);

class Stream {
 public:
  explicit Stream(std::shared_ptr<const Model> model, const StreamOptions& options = {});
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Validates the input and runs the encoder and its head.
  EncoderOutput run(const EncoderInput& input, const RunOptions& options = {});

  int threads() const;
  const Model& model() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparq
