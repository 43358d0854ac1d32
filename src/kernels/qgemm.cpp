#include "kernels/qgemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/partition.h"

namespace sparq::kernels {

QuantParams quant_params_for_range(float min, float max) {
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  QuantParams p;
  if (!(max > min)) return p;  // all zeros (or NaN): any scale represents them
  p.scale = (max - min) / 255.0f;
  const float zero = std::nearbyint(-min / p.scale);
  p.zero_point = static_cast<int32_t>(std::clamp(zero, 0.0f, 255.0f));
  return p;
}

int64_t padded_k(int64_t k, int kgroup) {
  return (k + kgroup - 1) / kgroup * kgroup;
}

size_t packed_qb_bytes(int64_t n, int64_t k, int nr, int kgroup) {
  return static_cast<size_t>((n + nr - 1) / nr * nr * padded_k(k, kgroup));
}

void pack_qb_transposed(const int8_t* w, int64_t ldw, int64_t n, int64_t k, int nr, int kgroup,
                        int8_t* out, int32_t* column_sums) {
  const int64_t kp = padded_k(k, kgroup);
  for (int64_t col0 = 0; col0 < n; col0 += nr) {
    int8_t* panel = out + col0 * kp;
    for (int64_t k0 = 0; k0 < kp; k0 += kgroup)
      for (int64_t j = 0; j < nr; ++j)
        for (int g = 0; g < kgroup; ++g) {
          const int64_t col = col0 + j, kk = k0 + g;
          panel[k0 * nr + j * kgroup + g] = col < n && kk < k ? w[col * ldw + kk] : 0;
        }
  }
  if (column_sums) weight_row_sums(w, ldw, n, k, column_sums);
}

void pack_qb_rows(const KernelTable& table, const int8_t* w, int64_t ldw, int64_t n, int64_t k,
                  int8_t* out) {
  const int nr = table.qgemm_nr;
  const int64_t kp = padded_k(k, table.qgemm_kgroup);
  if (table.qgemm_kgroup != 4 || ldw % 4 != 0 || ldw < kp) {
    pack_qb_transposed(w, ldw, n, k, nr, table.qgemm_kgroup, out, nullptr);
    return;
  }
  // panel p's word [g][j] is word g of row p * nr + j; rows past n are zero
  for (int64_t col0 = 0; col0 < n; col0 += nr) {
    const int64_t rows = std::min<int64_t>(nr, n - col0);
    int8_t* panel = out + col0 * kp;
    if (rows < nr) std::memset(panel, 0, static_cast<size_t>(nr * kp));
    table.transpose_32(reinterpret_cast<const uint32_t*>(w + col0 * ldw), ldw / 4, rows, kp / 4,
                       reinterpret_cast<uint32_t*>(panel), nr);
  }
}

void quantize_rows_symmetric(const KernelTable& table, const float* x, int64_t ldx, int64_t m,
                             int64_t k, int32_t offset, uint8_t* q, int64_t ldq, float* scales,
                             int32_t* sums) {
  table.i8_quantize_symmetric_rows(x, ldx, m, k, offset, q, ldq, scales, sums);
}

void weight_row_sums(const int8_t* w, int64_t ldw, int64_t n, int64_t k, int32_t* sums) {
  for (int64_t row = 0; row < n; ++row) {
    int32_t sum = 0;
    for (int64_t kk = 0; kk < k; ++kk) sum += w[row * ldw + kk];
    sums[row] = sum;
  }
}

void quantize_rows_static(const KernelTable& table, const float* x, int64_t ldx, int64_t m,
                          int64_t k, const float* column_scale, QuantParams params, uint8_t* q,
                          int64_t ldq, core::ThreadPool* pool) {
  const float inv = 1.0f / params.scale;
  auto rows = [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      table.u8_quantize(x + r * ldx, k, column_scale, inv, params.zero_point, q + r * ldq);
      std::memset(q + r * ldq + k, 0, static_cast<size_t>(ldq - k));
    }
  };
  if (pool && m * k >= (1 << 15))
    pool->parallel_for(m, rows);
  else
    rows(0, m, 0);
}

void quantize_rows_dynamic(const KernelTable& table, const float* x, int64_t ldx, int64_t m,
                           int64_t k, const float* column_scale, uint8_t* q, int64_t ldq,
                           float* scales, int32_t* zero_points, core::ThreadPool* pool) {
  auto rows = [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      float lo, hi;
      table.f32_minmax(x + r * ldx, k, column_scale, &lo, &hi);
      const QuantParams p = quant_params_for_range(lo, hi);
      scales[r] = p.scale;
      zero_points[r] = p.zero_point;
      table.u8_quantize(x + r * ldx, k, column_scale, 1.0f / p.scale, p.zero_point, q + r * ldq);
      std::memset(q + r * ldq + k, 0, static_cast<size_t>(ldq - k));
    }
  };
  if (pool && m * k >= (1 << 15))
    pool->parallel_for(m, rows);
  else
    rows(0, m, 0);
}

QGemmEpilogue epilogue_at(const QGemmEpilogue& ep, int64_t row, int64_t col) {
  QGemmEpilogue e = ep;
  if (ep.raw) return e;
  e.column_sums = ep.column_sums + col;
  e.b_scale = ep.per_channel ? ep.b_scale + col : ep.b_scale;
  e.a_scale = ep.a_scale + row * ep.a_scale_stride;
  e.a_zero_point = ep.a_zero_point + row * ep.a_zero_point_stride;
  e.bias = ep.bias ? ep.bias + col : nullptr;
  e.residual = ep.residual ? ep.residual + row * ep.ldr + col : nullptr;
  if (ep.requantize.q) {
    e.requantize.q = ep.requantize.q + row * ep.requantize.ldq + col;
    if (ep.requantize.column_scale) e.requantize.column_scale = ep.requantize.column_scale + col;
  }
  return e;
}

void qgemm(const KernelTable& table, int64_t m, int64_t n, int64_t k, const uint8_t* q, int64_t ldq,
           const int8_t* packed_b, const QGemmEpilogue& ep, float* c, int32_t* c_raw, int64_t ldc,
           core::ThreadPool* pool) {
  if (m <= 0 || n <= 0) return;
  const int mr_max = table.qgemm_mr, nr_max = table.qgemm_nr;
  const int64_t kp = padded_k(k, table.qgemm_kgroup);
  const int64_t panels = (n + nr_max - 1) / nr_max;
  // int8 work is cheaper per multiply-add than fp32; the threshold counts multiply-adds alike
  for_each_gemm_block(pool, m, panels, mr_max, 2.0 * static_cast<double>(m * n * k),
                      [&](int64_t panel_begin, int64_t panel_end, int64_t m_begin, int64_t m_end) {
                        for (int64_t panel = panel_begin; panel < panel_end; ++panel) {
                          const int64_t col = panel * nr_max;
                          const int nr = static_cast<int>(std::min<int64_t>(nr_max, n - col));
                          const int8_t* b_panel = packed_b + panel * kp * nr_max;
                          const int64_t rows = m_end - m_begin;
                          const int64_t tiles = (rows + mr_max - 1) / mr_max;
                          for (int64_t tile = 0, m0 = m_begin; tile < tiles; ++tile) {
                            const int64_t tile_rows = rows / tiles + (tile < rows % tiles ? 1 : 0);
                            if (panel + 1 < panel_end)
                              prefetch_share(b_panel + kp * nr_max, kp * nr_max, tile, tiles);
                            const QGemmEpilogue e = epilogue_at(ep, m0, col);
                            QGemmTileArgs t{q + m0 * ldq,
                                            ldq,
                                            b_panel,
                                            kp,
                                            static_cast<int>(tile_rows),
                                            nr,
                                            c ? c + m0 * ldc + col : nullptr,
                                            c_raw ? c_raw + m0 * ldc + col : nullptr,
                                            ldc,
                                            &e};
                            table.u8s8_gemm_tile(t);
                            m0 += tile_rows;
                          }
                        }
                      });
}

}  // namespace sparq::kernels
