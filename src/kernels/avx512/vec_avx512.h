// AVX-512 vector traits for the kernels written over traits (simd/). Include this only inside
// an anonymous namespace of an avx512/ or vnni/ source: the traits type then has internal
// linkage, and so does every template instantiated with it.
#pragma once
// (intentionally no #include: the including file includes <immintrin.h> at global scope)

struct V512 {
  using F = __m512;
  static constexpr int width = 16;
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F load_partial(const float* p, int64_t n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), mask(n >= 16 ? 16 : static_cast<int>(n)), p);
  }
  static void store_partial(float* p, F v, int64_t n) {
    _mm512_mask_storeu_ps(p, mask(n >= 16 ? 16 : static_cast<int>(n)), v);
  }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fnmadd(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F abs(F a) { return _mm512_abs_ps(a); }
  static F rcp_estimate(F a) { return _mm512_rcp14_ps(a); }
  static F round(F a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static F scale_pow2(F p, F n) { return _mm512_scalef_ps(p, n); }
  static F select_lt(F a, F b, F t, F f) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), f, t);
  }
  static float reduce_add(F v) { return _mm512_reduce_add_ps(v); }
  static float reduce_max(F v) { return _mm512_reduce_max_ps(v); }
  static float reduce_min(F v) { return _mm512_reduce_min_ps(v); }

  // v[i][j] <-> v[j][i]
  static void transpose(F (&v)[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
      const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]),
                    c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
      v[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
      v[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
      v[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
      v[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    // v[4q + j] now holds columns j, j + 4, j + 8, j + 12 of rows 4q..4q+3, one per 128-bit lane
    for (int j = 0; j < 4; ++j) {
      t[j] = _mm512_shuffle_f32x4(v[j], v[4 + j], 0x88);
      t[4 + j] = _mm512_shuffle_f32x4(v[j], v[4 + j], 0xdd);
      t[8 + j] = _mm512_shuffle_f32x4(v[8 + j], v[12 + j], 0x88);
      t[12 + j] = _mm512_shuffle_f32x4(v[8 + j], v[12 + j], 0xdd);
    }
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
      v[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xdd);
      v[4 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88);
      v[12 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xdd);
    }
  }
  // 32 bytes as 16 words of two zero-extended u16
  static F widen_u8_pairs(const uint8_t* p) {
    return _mm512_castsi512_ps(
        _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
  }

  // int32 lanes
  using I = __m512i;
  static I zero_i() { return _mm512_setzero_si512(); }
  static I set1_i(int32_t x) { return _mm512_set1_epi32(x); }
  static I load_i(const int32_t* p) { return _mm512_loadu_si512(p); }
  static I load_i_partial(const int32_t* p, int n) { return _mm512_maskz_loadu_epi32(mask(n), p); }
  static void store_i(int32_t* p, I v) { _mm512_storeu_si512(p, v); }
  static void store_i_partial(int32_t* p, I v, int n) { _mm512_mask_storeu_epi32(p, mask(n), v); }
  static I add_i(I a, I b) { return _mm512_add_epi32(a, b); }
  static I sub_i(I a, I b) { return _mm512_sub_epi32(a, b); }
  static I and_i(I a, I b) { return _mm512_and_si512(a, b); }
  static I mullo_i(I a, I b) { return _mm512_mullo_epi32(a, b); }
  static I cast_f_i(F v) { return _mm512_castps_si512(v); }  // the same bits
  static F cvt_i_f(I v) { return _mm512_cvtepi32_ps(v); }
  static I cvt_f_i_nearest(F v) { return _mm512_cvtps_epi32(v); }  // MXCSR default: to nearest even
  // the low byte of each lane
  static __m128i pack_u8_low(I v) { return _mm512_cvtepi32_epi8(v); }
  static void store_u8(uint8_t* p, __m128i bytes, int n) {
    _mm_mask_storeu_epi8(p, mask(n), bytes);
  }
  static void store_u8_whole(uint8_t* p, __m128i bytes) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), bytes);
  }
};

// K in groups of 4: vpdpbusd multiplies 4 u8 by 4 s8 into each int32 lane.
struct DotVnni512 {
  static constexpr int kgroup = 4;
  using B = __m512i;
  static B load_b(const int8_t* p) { return _mm512_loadu_si512(p); }
  static __m512i broadcast_a(const uint8_t* p) {
    int32_t v;
    __builtin_memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  static __m512i dot(__m512i acc, __m512i a, B b) { return _mm512_dpbusd_epi32(acc, a, b); }
};

// K in groups of 2 without VNNI: s8 weights sign-extended to s16, u8 pairs zero-extended, then
// vpmaddwd, which (unlike vpmaddubsw) cannot saturate.
struct DotMadd512 {
  static constexpr int kgroup = 2;
  using B = __m512i;
  static B load_b(const int8_t* p) {
    return _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static __m512i broadcast_a(const uint8_t* p) { return _mm512_set1_epi32(p[0] | (p[1] << 16)); }
  static __m512i dot(__m512i acc, __m512i a, B b) {
    return _mm512_add_epi32(acc, _mm512_madd_epi16(a, b));
  }
};

// Sparse int8 blocks (spmm_tile.h): four s8 weights times the four u8 inputs of each token in a
// lane of one transposed activation row, one vpdpbusd per token vector. An entry is the weights'
// word then the offset of the block's activation row, read with one 64-bit load.
struct SpDotVnni512 {
  static constexpr int kgroup = 4;
  static constexpr int entry_words = 2;
  template <int C>
  static void block(__m512i (&acc)[C], const int32_t* xt, int64_t /*ldxt*/, const int32_t* entry) {
    uint64_t bits;
    __builtin_memcpy(&bits, entry, 8);
    const __m512i wv = _mm512_set1_epi32(static_cast<int32_t>(bits));
    const int32_t* x = xt + (bits >> 32);
    for (int c = 0; c < C; ++c) dpbusd_in_place(acc[c], _mm512_loadu_si512(x + c * 16), wv);
  }
  // GCC copies an accumulator it cannot prove dead before each vpdpbusd when streams of
  // accumulators are updated in a variable-length loop, and the copies lengthen every
  // dependency chain; the constraint keeps the accumulator in place.
  static void dpbusd_in_place(__m512i& acc, __m512i u8, __m512i s8) {
    asm("vpdpbusd %[s8], %[u8], %[acc]" : [acc] "+v"(acc) : [u8] "v"(u8), [s8] "v"(s8));
  }
};

// Without VNNI: the block's weights as two s16 pairs against two rows of u16 input pairs; an
// entry is the two pair words, then the offset of the block's first activation row.
struct SpDotMadd512 {
  static constexpr int kgroup = 2;
  static constexpr int entry_words = 3;
  template <int C>
  static void block(__m512i (&acc)[C], const int32_t* xt, int64_t ldxt, const int32_t* entry) {
    const __m512i w01 = _mm512_set1_epi32(entry[0]), w23 = _mm512_set1_epi32(entry[1]);
    const int32_t* x = xt + static_cast<uint32_t>(entry[2]);
    for (int c = 0; c < C; ++c)
      acc[c] = _mm512_add_epi32(
          acc[c], _mm512_add_epi32(_mm512_madd_epi16(_mm512_loadu_si512(x + c * 16), w01),
                                   _mm512_madd_epi16(_mm512_loadu_si512(x + ldxt + c * 16), w23)));
  }
};
