// The per-ISA tables, each defined in its own folder. Only dispatch.cpp and tests use these.
#pragma once

#include "kernels/kernels.h"

namespace sparq::kernels {

const KernelTable& ref_table();
const KernelTable& avx2_table();
const KernelTable& avx512_table();
const KernelTable& vnni_table();

}  // namespace sparq::kernels
