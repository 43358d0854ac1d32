// What the CPU and the operating system allow: instruction set extensions (checked against the
// register state the OS saves, XCR0) and the number of physical cores available to this process.
#pragma once

#include <string>
#include <vector>

namespace sparq::core {

struct CpuFeatures {
  std::string vendor;
  std::string brand;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;
  bool avx512vnni = false;
  bool avx512bf16 = false;
  bool avx_vnni = false;
  bool amx_int8 = false;
};

const CpuFeatures& cpu_features();

// Physical cores this process may run on (hyper-thread siblings counted once).
int physical_core_count();

// One logical CPU of each of those cores (the first of its hyper-thread siblings), ascending: the
// CPUs threads are pinned to.
std::vector<int> physical_core_cpus();

// Restricts the calling thread to one logical CPU; false when the system refuses.
bool pin_current_thread(int cpu);

// Logical CPUs this process may run on.
int available_cpu_count();

}  // namespace sparq::core
