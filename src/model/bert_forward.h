// The BERT forward pass over the internal model form. All scratch memory lives in a Workspace
// that grows to the largest batch seen and is then reused, so steady-state inference allocates
// nothing but its outputs.
#pragma once

#include <cstdint>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/thread_pool.h"
#include "model/bert_model.h"
#include "sparq/runtime.h"

namespace sparq::model {

class Workspace {
 public:
  // Sizes every buffer for `tokens` = batch * seq rows and `threads` attention workers.
  void reserve(const BertModel& model, int64_t batch, int64_t seq, int threads);

  core::AlignedBuffer<float> hidden;     // [tokens, hidden]
  core::AlignedBuffer<float> qkv;        // [tokens, 3 * hidden]
  core::AlignedBuffer<float> context;    // [tokens, hidden]
  core::AlignedBuffer<float> residual;   // [tokens, hidden]: sublayer output + residual
  core::AlignedBuffer<float> ffn;        // [tokens, intermediate]
  core::AlignedBuffer<float> mask_bias;  // [batch, seq]: 0 or the lowest float, added to scores
  core::AlignedBuffer<float> pooled;     // [batch, hidden]
  LinearScratch linear;                  // the Linear layer running now
  struct AttentionScratch {
    core::AlignedBuffer<float> scores;    // [seq, seq]
    core::AlignedBuffer<float> packed_k;  // keys packed as a GEMM B operand
    core::AlignedBuffer<float> packed_v;  // values packed as a GEMM B operand
  };
  std::vector<AttentionScratch> attention;  // one per thread
};

// Runs the encoder and the model's head on a validated input.
void forward(const BertModel& model, const EncoderInput& input, const RunOptions& options,
             Workspace& workspace, core::ThreadPool& pool, EncoderOutput& output);

}  // namespace sparq::model
