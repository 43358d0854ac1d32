// The kernel table: every compute kernel sparq runs, one table per instruction set. Each ISA's
// kernels live in their own folder compiled with their own target flags (ref/ is portable scalar
// code and doubles as the reference the tests compare every other table against). A table is
// chosen once at start-up (see dispatch.h); code outside kernels/ only calls through a table.
//
// Kernel names follow <type>_<op>_<tile>__<isa>, e.g. f32_gemm_12x32__avx512.
#pragma once

#include <cstdint>

namespace sparq::kernels {

enum class Isa : int { ref = 0, avx2 = 1, avx512 = 2, avx512_vnni = 3 };

enum class Activation : int { none = 0, gelu_erf, gelu_tanh, relu, tanh };

// What happens to a finished output tile: out = activation(acc + bias[col]) + residual[row][col].
// Pointers are already offset to the tile's first row and column.
struct GemmEpilogue {
  const float* bias = nullptr;
  Activation activation = Activation::none;
  const float* residual = nullptr;
  int64_t ldr = 0;
};

// One register tile of C = A · B where B is a packed panel (see gemm.h):
// C[0:mr, 0:nr] (=, or += when accumulate) A[0:mr, 0:k] · panel[0:k, 0:nr],
// then the epilogue when it is non-null (the last K block).
struct GemmTileArgs {
  const float* a;
  int64_t lda;
  const float* b;  // k rows of gemm_nr floats, 64-byte aligned
  float* c;
  int64_t ldc;
  int64_t k;
  int mr;  // 1..gemm_mr valid rows
  int nr;  // 1..gemm_nr valid columns
  bool accumulate;
  const GemmEpilogue* epilogue;
};

// Quantization of an epilogue's output for a next INT8 layer with static input parameters,
// exactly as u8_quantize quantizes an fp32 row (column_scale[col], inv_scale, zero_point), into
// q[row * ldq + col]: the next layer's input, without an fp32 round trip through memory.
struct Requantize {
  uint8_t* q = nullptr;
  int64_t ldq = 0;
  const float* column_scale = nullptr;  // SmoothQuant's, or null
  float inv_scale = 1.0f;
  int32_t zero_point = 0;
};

// How an int32 accumulator tile of C = A_u8 · B_s8 becomes output. With `raw` set, the tile is
// stored as int32 (tests compare it exactly); otherwise
//   out = activation((acc - a_zero_point[row] * column_sums[col]) * (b_scale[col] * a_scale[row])
//                    + bias[col]) + residual[row][col]
// with a_scale and a_zero_point each per row (stride 1, dynamic quantization) or shared (stride
// 0), and b_scale per column (per_channel) or shared; out is stored as fp32, or requantized when
// requantize.q is set. Pointers are offset to the tile.
struct QGemmEpilogue {
  const int32_t* column_sums = nullptr;
  const float* b_scale = nullptr;
  bool per_channel = true;
  const float* a_scale = nullptr;
  const int32_t* a_zero_point = nullptr;
  int64_t a_scale_stride = 0;
  int64_t a_zero_point_stride = 0;
  const float* bias = nullptr;
  Activation activation = Activation::none;
  const float* residual = nullptr;
  int64_t ldr = 0;
  bool raw = false;
  Requantize requantize;  // on when requantize.q is set
};

// One register tile of the integer GEMM: A is u8 rows (K padded to qgemm_kgroup, lda bytes
// apart), B a packed s8 panel ([k / kgroup][nr][kgroup] bytes).
struct QGemmTileArgs {
  const uint8_t* a;
  int64_t lda;
  const int8_t* b;
  int64_t k;  // a multiple of qgemm_kgroup
  int mr;
  int nr;
  float* c;        // fp32 output
  int32_t* c_raw;  // int32 output when the epilogue is raw
  int64_t ldc;
  const QGemmEpilogue* epilogue;
};

// Sparse weights times activations (SpMM), the layout every sparse tile shares. The weight
// [n, k] is stored by output row as blocks of consecutive input channels that are not all zero
// (see sparse/sparse_weights.h): block b's position along k in blocks is index[b] (fp32), or
// the last word of its int8 entry holds its activation row's offset (ldxt is then always
// spmm_row_words), values hold its weights, and each row's blocks are split at fixed K chunks so
// that a pass over the rows can stop at a chunk boundary. Activations arrive transposed, tokens
// contiguous: row g of xt (ldxt 32-bit words apart) holds, for each token, one fp32 input channel,
// or one group of u8 inputs (spmm_kgroup == 4: the four bytes of a block; 2: two u16 lanes, so a
// block spans rows 2g and 2g + 1). Each nonzero block is then one broadcast and one vector FMA (or
// dot product) per token vector, whatever the pattern.
//
// One call runs one pass: output rows [0, rows) x tokens [0, tokens) over the K chunks
// [first_chunk, end_chunk), whose activations fit in L1. Passes before the last store partial
// sums ([rows][ldp], fp32 or int32); the last applies the epilogue and writes the rows back
// transposed into the row-major output (c[token * ldc + row]).
struct SpmmTileArgs {
  const void* xt;  // the token tile's first token; valid up to a whole number of token vectors
  int64_t ldxt;
  const int32_t* chunk_start;  // at the first row: row r's chunk c starts at
  int64_t chunk_stride;        // chunk_start[r * chunk_stride + c] (absolute block numbers)
  int first_chunk;
  int end_chunk;
  // blocks of a row's pass the tile prefetches for a later row: a little more than the average,
  // and the same for every row, so the prefetch loop's exit is predictable
  int prefetch_blocks;
  const uint16_t* index;  // fp32
  const void* values;     // fp32: block floats per block; int8: spmm_kgroup-dependent entries
  int block;              // fp32 input channels per block: 1 (unstructured) or 4
  int rows;
  int tokens;       // 1..spmm_max_tokens
  bool accumulate;  // start from the partial sums (else from zero)
  bool finish;      // apply the epilogue and write c (else store the partial sums)
  void* partial;
  int64_t ldp;
  float* c;        // at (first token, first row)
  int32_t* c_raw;  // int8 raw output
  int64_t ldc;
  // offset to the first row (bias, b_scale, column_sums) and first token (a_scale,
  // a_zero_point when per token, residual)
  const GemmEpilogue* epilogue;    // fp32
  const QGemmEpilogue* qepilogue;  // int8
};

struct KernelTable {
  Isa isa;
  const char* isa_name;

  // fp32 GEMM microkernel and its tile shape; weights are packed in panels of gemm_nr columns.
  const char* f32_gemm_name;
  int gemm_mr;
  int gemm_nr;
  int gemm_kc;  // K block: the depth of one pass of a panel
  int gemm_mc;  // row block: the rows of A kept in cache while a thread's panels stream past
  void (*f32_gemm_tile)(const GemmTileArgs& args);

  // y = (x - mean) / sqrt(var + eps) * gamma + beta over one row of n values (x may equal y).
  const char* f32_layernorm_name;
  void (*f32_layernorm)(const float* x, const float* gamma, const float* beta, float eps, float* y,
                        int64_t n);

  // In place: row = softmax(row * scale + mask_bias) (mask_bias may be null).
  const char* f32_softmax_name;
  void (*f32_softmax)(float* row, int64_t n, float scale, const float* mask_bias);

  // The softmax above quantized for an integer GEMM in one pass: with x = row * scale + mask_bias,
  // q[i] = round_half_even(255 * exp(x[i] - max x)); returns the scale 1 / (255 * sum exp(x - max
  // x)) of the probabilities q[i] * scale (zero point 0). exp is computed to about 5e-5 relative
  // (far below the 8-bit step). The row is overwritten.
  float (*u8_softmax)(float* row, int64_t n, float scale, const float* mask_bias, uint8_t* q);

  // In place elementwise activation (the same functions the GEMM epilogue applies).
  void (*f32_activation)(Activation activation, float* x, int64_t n);

  // u8 x s8 -> s32 GEMM tile; weights packed in panels of qgemm_nr columns, K in groups of
  // qgemm_kgroup (4 for vpdpbusd, 2 for vpmaddwd).
  const char* u8s8_gemm_name;
  int qgemm_mr;
  int qgemm_nr;
  int qgemm_kgroup;
  void (*u8s8_gemm_tile)(const QGemmTileArgs& args);

  // Sparse tiles (see SpmmTileArgs): output rows written back spmm_rows at a time (a register
  // transpose), up to spmm_max_tokens tokens in token vectors of spmm_token_vector; weights
  // chunked every spmm_chunk_rows rows of transposed activations, and passes sized to keep
  // spmm_pass_bytes of activations in L1 but to hold at least spmm_*_min_pass_weights nonzero
  // weights per row (sparse/spmm.cpp says why).
  const char* f32_spmm_name;
  const char* u8s8_spmm_name;
  int spmm_rows;
  int spmm_token_vector;
  int spmm_max_tokens;
  // words per row of transposed activations: spmm_max_tokens plus a vector, so that rows do not
  // all map to the same few L1 sets
  int spmm_row_words;
  int spmm_chunk_rows;
  int spmm_pass_bytes;
  float spmm_f32_min_pass_weights;
  float spmm_u8s8_min_pass_weights;
  int spmm_kgroup;  // u8 inputs per 32-bit word of transposed int8 activations: 4 or 2
  // The sparse tiles' cost relative to the dense GEMM of the same shape (measured with
  // bench/spmm_bench, see sparse/sparse_choice.h): time ratio = per_weight * stored fraction
  // + per_row * 768 / K.
  float spmm_f32_cost_per_weight;  // per stored fp32 weight (block 1)
  float spmm_f32_block4_cost_per_weight;
  float spmm_u8s8_cost_per_weight;  // per stored int8 weight (blocks of 4)
  float spmm_cost_per_row;
  void (*f32_spmm_tile)(const SpmmTileArgs& args);
  void (*u8s8_spmm_tile)(const SpmmTileArgs& args);
  // Transposes 32-bit elements: dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols.
  void (*transpose_32)(const uint32_t* src, int64_t lds, int64_t rows, int64_t cols, uint32_t* dst,
                       int64_t ldd);
  // u8 rows q[tokens, ldq] (k bytes each, k a multiple of 4) into transposed int8 activations
  // of k / spmm_kgroup rows.
  void (*spmm_transpose_u8)(const uint8_t* q, int64_t ldq, int64_t tokens, int64_t k, uint32_t* xt,
                            int64_t ldxt);

  // q[i] = clamp(round_half_even(clamp(x'[i] * inv_scale, +-2^30)) + zero_point, 0, 255) where
  // x'[i] = x[i] * column_scale[i] (smoothed activations), or x[i] when column_scale is null.
  void (*u8_quantize)(const float* x, int64_t n, const float* column_scale, float inv_scale,
                      int32_t zero_point, uint8_t* q);
  // Symmetric 8-bit quantization of each row of x [m, n] (row stride ldx) into q [m, ldq]:
  // scales[r] = max|x_r| / 127 (1 when the row is all zeros), bytes v[i] + offset with
  // v[i] = round_half_even(x_r[i] / scales[r]) in [-127, 127] (offset 0 gives s8, offset 128 u8
  // with zero point 128), the bytes from n to ldq zero, and sums[r] = sum of the row's v[i] when
  // sums is non-null.
  void (*i8_quantize_symmetric_rows)(const float* x, int64_t ldx, int64_t m, int64_t n,
                                     int32_t offset, uint8_t* q, int64_t ldq, float* scales,
                                     int32_t* sums);
  // The smallest and largest of x'[0..n) as above, n >= 1.
  void (*f32_minmax)(const float* x, int64_t n, const float* column_scale, float* min, float* max);
};

const char* activation_name(Activation activation);

}  // namespace sparq::kernels
