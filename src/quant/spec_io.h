// quantization.json: reading (validated, one clear error per defect) and writing.
#pragma once

#include <string>
#include <vector>

#include "sparq/quantization.h"

namespace sparq::quant {

inline constexpr const char* kQuantizationFile = "quantization.json";

// `linears` are the names the model's config implies (every encoder Linear); the file must say
// how each runs and name no others.
QuantizationSpec read_quantization_json(const std::string& path,
                                        const std::vector<std::string>& linears);
void write_quantization_json(const std::string& path, const QuantizationSpec& spec,
                             const std::vector<std::string>& linears);

}  // namespace sparq::quant
