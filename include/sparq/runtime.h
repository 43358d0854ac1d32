// Running a model: a Stream owns a team of threads and the scratch memory of one inference at a
// time; many streams may share one Model. A stream is not thread-safe; use one per caller thread.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
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

// Time spent per kind of operation, summed over layers and calls (RunOptions::profile), on the
// calling thread. Where each thread runs a layer's token-local operations on its own share of
// the tokens (INT8 models whose encoder layers are all sparse, given enough tokens), those are the
// calling thread's share's times, and "attention" includes waiting for the other threads' shares.
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
  // Pin thread i of the stream (0 is the caller of run(); pinned only when the stream is driven
  // by a Runtime) to logical CPU cpus[i]; empty: no pinning.
  std::vector<int> cpus;
  // Threads spin briefly between kernels before sleeping; off when the process runs more
  // threads than there are cores. Unset: on when this stream's threads fit the cores.
  std::optional<bool> spin;
};

// Checks an input against a model; throws sparq::Error naming the first problem.
void validate_input(const Model& model, const EncoderInput& input);

class Stream {
 public:
  explicit Stream(std::shared_ptr<const Model> model, const StreamOptions& options = {});
  Stream(std::shared_ptr<const Model> model, int threads);
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

struct RuntimeOptions {
  int streams = 1;  // inferences that run at the same time, each on its own threads
  // Threads of all streams together, split evenly (each stream gets at least one). 0: the
  // physical cores this process may use, so streams never oversubscribe the machine.
  int threads = 0;
  // Pin every thread to a core of its own (stream s gets cores [s * t, (s + 1) * t)); needs
  // streams * threads-per-stream <= physical cores.
  bool pin_threads = false;
};

// Called once per request, on the stream's thread, with the output or the error.
using InferCallback = std::function<void(std::exception_ptr error, EncoderOutput output)>;

// A model compiled for concurrent use: N streams share the model's one copy of the weights, each
// with its own threads and scratch memory, and serve a queue of asynchronous requests in
// submission order. Thread-safe. The destructor finishes every queued request.
class Runtime {
 public:
  explicit Runtime(std::shared_ptr<const Model> model, const RuntimeOptions& options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Queues a request; the input is validated now (throws sparq::Error) and run on the first free
  // stream. RunOptions::observe_linear_inputs and profile are called on that stream's thread.
  std::future<EncoderOutput> submit(EncoderInput input, RunOptions options = {});
  void submit(EncoderInput input, RunOptions options, InferCallback done);

  // submit(...).get(): blocks the caller until its request has run.
  EncoderOutput infer(EncoderInput input, const RunOptions& options = {});

  // Blocks until the queue is empty and no stream is running.
  void wait_idle();

  int streams() const;
  int threads_per_stream() const;
  const Model& model() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparq
