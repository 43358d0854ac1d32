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

  core::AlignedBuffer<float> hidden;    // [tokens, hidden]
  core::AlignedBuffer<float> qkv;       // [tokens, 3 * hidden]
  core::AlignedBuffer<float> context;   // [tokens, hidden]
  core::AlignedBuffer<float> residual;  // [tokens, hidden]: sublayer output + residual
  core::AlignedBuffer<float> ffn;       // [tokens, intermediate]
  // the intermediate layer's output as the output layer's u8 input, when it requantizes for it
  QuantizedRows ffn_quantized;
  core::AlignedBuffer<float> mask_bias;  // [batch, seq]: 0 or the lowest float, added to scores
  core::AlignedBuffer<float> pooled;     // [batch, hidden]
  LinearScratch linear;                  // the Linear layer running now
  // One per thread, when each thread runs the token-local operations on its own tokens.
  struct MemberScratch {
    LinearScratch linear;
    QuantizedRows ffn_quantized;
  };
  std::vector<MemberScratch> members;
  // An s8 GEMM B operand packed per call, with its per-column sums and scales.
  struct PackedInt8Operand {
    core::AlignedBuffer<int8_t> packed;
    core::AlignedBuffer<int32_t> sums;
    core::AlignedBuffer<float> scales;
    void reserve(int64_t n, int64_t k, const kernels::KernelTable& table);
  };
  struct AttentionScratch {
    core::AlignedBuffer<float> scores;    // [row block, seq]
    core::AlignedBuffer<float> packed_k;  // keys packed as a GEMM B operand
    core::AlignedBuffer<float> packed_v;  // values packed as a GEMM B operand
    // INT8 attention (BertModel::int8_attention)
    QuantizedRows queries;                 // [seq, head_dim] u8, zero point 128
    QuantizedRows probabilities;           // [row block, seq] u8
    core::AlignedBuffer<float> values_t;   // [head_dim, seq]: a head's values, one channel per row
    core::AlignedBuffer<uint8_t> s8_rows;  // keys or values_t in s8 before packing
    PackedInt8Operand keys;                // per key
    PackedInt8Operand values;              // per channel
  };
  std::vector<AttentionScratch> attention;  // one per thread
};

// Runs the encoder and the model's head on a validated input.
void forward(const BertModel& model, const EncoderInput& input, const RunOptions& options,
             Workspace& workspace, core::ThreadPool& pool, EncoderOutput& output);

}  // namespace sparq::model
