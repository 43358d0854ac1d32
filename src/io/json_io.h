// JSON forms of encoder inputs and outputs, shared by the CLI and (later) the HTTP server.
//
// Input: {"input_ids": [[...], ...], "attention_mask": [[...]], "token_type_ids": [[...]]}; a flat
// list is one sequence; a missing mask means all ones and missing types mean zeros; other keys
// are ignored (so a golden.json is a valid input).
#pragma once

#include <string>

#include "sparq/runtime.h"

namespace sparq::io {

// Throws sparq::Error naming the field for anything that is not a rectangular list of integers.
EncoderInput parse_encoder_input(const std::string& json_text, const std::string& source);

// {"logits": ...} | {"start_logits": ..., "end_logits": ...}, plus "last_hidden_state",
// "pooler_output" and "hidden_states" when present; floats in their shortest exact form.
std::string encoder_output_json(const EncoderOutput& output);

// Appends a tensor as nested JSON lists.
void append_tensor_json(std::string& out, const Tensor& tensor);

}  // namespace sparq::io
