// Runs tokenized sequences through a stream in batches of similar length, each padded to its
// longest sequence (pad id, attention mask 0): shared by the pipelines and by calibration.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "sparq/runtime.h"
#include "sparq/tokenizer.h"

namespace sparq::pipelines {

// `consume` gets each encoding's index, the batch output, its row in the batch and the batch's
// padded length.
void run_in_batches(
    Stream& stream, int32_t pad_id, const std::vector<const Encoding*>& encodings,
    int64_t batch_size, const RunOptions& options,
    const std::function<void(size_t, const EncoderOutput&, int64_t, int64_t)>& consume);

}  // namespace sparq::pipelines
