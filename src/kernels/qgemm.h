// INT8 GEMM driver: u8 activations (quantized per tensor with calibrated parameters, or per row
// at run time) times s8 weights packed once at load, exact int32 accumulation, dequantized in the
// tile's epilogue.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/kernels.h"

namespace sparq::kernels {

// Asymmetric u8 quantization parameters of a range that includes 0 (ONNX DynamicQuantizeLinear).
struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};
QuantParams quant_params_for_range(float min, float max);

int64_t padded_k(int64_t k, int kgroup);
size_t packed_qb_bytes(int64_t n, int64_t k, int nr, int kgroup);

// sums[i] = the sum of row i of W[n, k] (s8, row stride ldw): the zero-point compensation.
void weight_row_sums(const int8_t* w, int64_t ldw, int64_t n, int64_t k, int32_t* sums);

// Packs W[n, k] (s8, row stride ldw) into panels [n / nr][k_padded / kgroup][nr][kgroup] and
// writes each row's sum (the zero-point compensation) into column_sums[n].
void pack_qb_transposed(const int8_t* w, int64_t ldw, int64_t n, int64_t k, int nr, int kgroup,
                        int8_t* out, int32_t* column_sums);

// Packs W[n, k] (s8, row stride ldw) like pack_qb_transposed, for `table`, without the sums; with
// 4-byte groups a panel is a transpose of 32-bit words, done with the table's vectorized
// transpose (operands packed per call, such as attention's keys and values, need the speed).
void pack_qb_rows(const KernelTable& table, const int8_t* w, int64_t ldw, int64_t n, int64_t k,
                  int8_t* out);

// Rows of x [m, k] quantized symmetrically (KernelTable::i8_quantize_symmetric_rows) into
// q [m, ldq] with the padding bytes zeroed: scales[m], and each row's sum of values into sums[m]
// when non-null. Offset 0 makes s8 rows (a B operand), 128 u8 rows with zero point 128 (an A
// operand).
void quantize_rows_symmetric(const KernelTable& table, const float* x, int64_t ldx, int64_t m,
                             int64_t k, int32_t offset, uint8_t* q, int64_t ldq, float* scales,
                             int32_t* sums);

// Quantizes rows of x [m, k], each column first multiplied by column_scale (smoothing; may be
// null), into q [m, ldq] (ldq >= padded_k; padding bytes are set to 0). Static: one scale and
// zero point for all rows. Dynamic: each row's own range, written to scales[m] and zero_points[m].
void quantize_rows_static(const KernelTable& table, const float* x, int64_t ldx, int64_t m,
                          int64_t k, const float* column_scale, QuantParams params, uint8_t* q,
                          int64_t ldq, core::ThreadPool* pool);
void quantize_rows_dynamic(const KernelTable& table, const float* x, int64_t ldx, int64_t m,
                           int64_t k, const float* column_scale, uint8_t* q, int64_t ldq,
                           float* scales, int32_t* zero_points, core::ThreadPool* pool);

// The epilogue of the output tile whose first element is C[row, col]: every per-row and
// per-column array offset (a raw epilogue has none).
QGemmEpilogue epilogue_at(const QGemmEpilogue& epilogue, int64_t row, int64_t col);

// C[m, n] = epilogue(q[m, k] · B) with B packed for `table`. The epilogue's arrays are not offset
// (column_sums[n], b_scale[n] or [1], a_scale/a_zero_point[m] or [1], bias[n], residual[m, ldr]).
void qgemm(const KernelTable& table, int64_t m, int64_t n, int64_t k, const uint8_t* q, int64_t ldq,
           const int8_t* packed_b, const QGemmEpilogue& epilogue, float* c, int32_t* c_raw,
           int64_t ldc, core::ThreadPool* pool);

}  // namespace sparq::kernels
