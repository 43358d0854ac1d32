// AVX-512 VNNI: the AVX-512 fp32 kernels plus the integer dot-product kernels that need vpdpbusd.
#include "kernels/tables.h"

namespace sparq::kernels {

const KernelTable& vnni_table() {
  static const KernelTable table = [] {
    KernelTable t = avx512_table();
    t.isa = Isa::avx512_vnni;
    t.isa_name = "avx512_vnni";
    return t;
  }();
  return table;
}

}  // namespace sparq::kernels
