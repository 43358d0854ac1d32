#include "core/cpu.h"

#include <cpuid.h>
#include <pthread.h>
#include <sched.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <utility>

namespace sparq::core {
namespace {

struct CpuidRegs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegs cpuid(uint32_t leaf, uint32_t subleaf = 0) {
  CpuidRegs r;
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

uint64_t read_xcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

bool bit(uint32_t value, int n) {
  return (value >> n) & 1u;
}

CpuFeatures detect() {
  CpuFeatures f;
  uint32_t max_leaf = __get_cpuid_max(0, nullptr);
  CpuidRegs v = cpuid(0);
  char vendor[13] = {};
  std::memcpy(vendor, &v.ebx, 4);
  std::memcpy(vendor + 4, &v.edx, 4);
  std::memcpy(vendor + 8, &v.ecx, 4);
  f.vendor = vendor;
  if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000004) {
    char brand[49] = {};
    for (uint32_t i = 0; i < 3; ++i) {
      CpuidRegs b = cpuid(0x80000002 + i);
      std::memcpy(brand + 16 * i, &b, 16);
    }
    f.brand = brand;
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
    while (!f.brand.empty() && f.brand.front() == ' ') f.brand.erase(0, 1);
  }
  if (max_leaf < 7) return f;
  CpuidRegs l1 = cpuid(1);
  bool osxsave = bit(l1.ecx, 27);
  uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  bool os_avx = (xcr0 & 0x6) == 0x6;                 // XMM and YMM state
  bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  bool os_amx = (xcr0 & 0x60000) == 0x60000;
  CpuidRegs l7 = cpuid(7, 0);
  CpuidRegs l7s1 = cpuid(7, 1);
  f.fma = os_avx && bit(l1.ecx, 12);
  f.f16c = os_avx && bit(l1.ecx, 29);
  f.avx2 = os_avx && bit(l7.ebx, 5);
  f.avx512f = os_avx512 && bit(l7.ebx, 16);
  f.avx512dq = os_avx512 && bit(l7.ebx, 17);
  f.avx512bw = os_avx512 && bit(l7.ebx, 30);
  f.avx512vl = os_avx512 && bit(l7.ebx, 31);
  f.avx512vnni = os_avx512 && bit(l7.ecx, 11);
  f.avx512bf16 = os_avx512 && bit(l7s1.eax, 5);
  f.avx_vnni = os_avx && bit(l7s1.eax, 4);
  f.amx_int8 = os_amx && bit(l7.edx, 25);
  return f;
}

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

int available_cpu_count() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}

std::vector<int> physical_core_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return {0};
  std::vector<int> allowed;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) allowed.push_back(cpu);
  if (allowed.empty()) return {0};
  std::set<std::pair<std::string, std::string>> cores;  // (package, core id)
  std::vector<int> first_of_core;
  for (int cpu : allowed) {
    std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::string core = read_first_line(base + "core_id");
    if (core.empty()) return allowed;  // no topology in sysfs: every logical CPU counts
    if (cores.emplace(read_first_line(base + "physical_package_id"), core).second)
      first_of_core.push_back(cpu);
  }
  return first_of_core;
}

int physical_core_count() {
  return static_cast<int>(physical_core_cpus().size());
}

bool pin_current_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

}  // namespace sparq::core
