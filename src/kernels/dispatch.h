// Chooses the kernel table once per process: the best ISA this CPU and OS support, or the one
// named by the SPARQ_ISA environment variable (ref, avx2, avx512, avx512_vnni), which must be
// supported. Tests and tools may also ask for any supported table directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/kernels.h"

namespace sparq::kernels {

std::string_view isa_name(Isa isa);
std::optional<Isa> parse_isa(std::string_view name);  // accepts "vnni" for avx512_vnni

// Whether this machine can run a table: the CPU features it needs, empty when it can.
std::string missing_features(Isa isa);
bool isa_supported(Isa isa);
std::vector<Isa> supported_isas();  // ascending
Isa best_supported_isa();

// The table for `isa`; throws sparq::Error when this CPU cannot run it.
const KernelTable& table_for(Isa isa);

// The process-wide table: SPARQ_ISA if set (an unknown or unsupported name throws sparq::Error
// the first time this is called), otherwise the best supported.
const KernelTable& active_table();

// Resolves a user's choice: empty means active_table().
const KernelTable& table_for_name(const std::string& name);

}  // namespace sparq::kernels
