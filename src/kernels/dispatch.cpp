#include "kernels/dispatch.h"

#include <cstdlib>
#include <mutex>

#include "core/cpu.h"
#include "core/error.h"
#include "kernels/tables.h"

namespace sparq::kernels {

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::ref:
      return "ref";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
    case Isa::avx512_vnni:
      return "avx512_vnni";
  }
  return "?";
}

std::optional<Isa> parse_isa(std::string_view name) {
  if (name == "ref" || name == "scalar") return Isa::ref;
  if (name == "avx2") return Isa::avx2;
  if (name == "avx512") return Isa::avx512;
  if (name == "avx512_vnni" || name == "vnni") return Isa::avx512_vnni;
  return std::nullopt;
}

std::string missing_features(Isa isa) {
  const core::CpuFeatures& f = core::cpu_features();
  std::string missing;
  auto need = [&](bool present, const char* name) {
    if (!present) missing += missing.empty() ? name : std::string(", ") + name;
  };
  if (isa >= Isa::avx2) {
    need(f.avx2, "avx2");
    need(f.fma, "fma");
    need(f.f16c, "f16c");
  }
  if (isa >= Isa::avx512) {
    need(f.avx512f, "avx512f");
    need(f.avx512bw, "avx512bw");
    need(f.avx512dq, "avx512dq");
    need(f.avx512vl, "avx512vl");
  }
  if (isa >= Isa::avx512_vnni) need(f.avx512vnni, "avx512_vnni");
  return missing;
}

bool isa_supported(Isa isa) {
  return missing_features(isa).empty();
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::ref, Isa::avx2, Isa::avx512, Isa::avx512_vnni})
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

Isa best_supported_isa() {
  return supported_isas().back();
}

const KernelTable& table_for(Isa isa) {
  std::string missing = missing_features(isa);
  if (!missing.empty())
    fail("the {} kernels need CPU features this machine lacks: {}", isa_name(isa), missing);
  switch (isa) {
    case Isa::ref:
      return ref_table();
    case Isa::avx2:
      return avx2_table();
    case Isa::avx512:
      return avx512_table();
    case Isa::avx512_vnni:
      return vnni_table();
  }
  fail("unknown ISA");
}

namespace {

Isa parse_isa_or_fail(std::string_view name, std::string_view source) {
  auto isa = parse_isa(name);
  if (!isa) fail("{} '{}' is not an ISA (use ref, avx2, avx512 or avx512_vnni)", source, name);
  return *isa;
}

}  // namespace

const KernelTable& active_table() {
  static const KernelTable* table = [] {
    const char* env = std::getenv("SPARQ_ISA");
    if (env && *env) return &table_for(parse_isa_or_fail(env, "SPARQ_ISA"));
    return &table_for(best_supported_isa());
  }();
  return *table;
}

const KernelTable& table_for_name(const std::string& name) {
  if (name.empty()) return active_table();
  return table_for(parse_isa_or_fail(name, "ISA"));
}

const char* activation_name(Activation activation) {
  switch (activation) {
    case Activation::none:
      return "none";
    case Activation::gelu_erf:
      return "gelu";
    case Activation::gelu_tanh:
      return "gelu_tanh";
    case Activation::relu:
      return "relu";
    case Activation::tanh:
      return "tanh";
  }
  return "?";
}

}  // namespace sparq::kernels
