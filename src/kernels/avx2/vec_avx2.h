// AVX2+FMA vector traits for the kernels written over traits (simd/). Include this only inside
// an anonymous namespace of an avx2/ source (see avx512/vec_avx512.h for why).
#pragma once

struct V256 {
  using F = __m256;
  static constexpr int width = 8;
  static __m256i mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n >= 8 ? 8 : n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float x) { return _mm256_set1_ps(x); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F load_partial(const float* p, int64_t n, float fill) {
    __m256i m = mask(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static void store_partial(float* p, F v, int64_t n) { _mm256_maskstore_ps(p, mask(n), v); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fnmadd(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F abs(F a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
  static F rcp_estimate(F a) { return _mm256_rcp_ps(a); }
  static F round(F a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static F scale_pow2(F p, F n) {
    __m256i bits =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  }
  static F select_lt(F a, F b, F t, F f) {
    return _mm256_blendv_ps(f, t, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
  }
  static float reduce_add(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float reduce_max(F v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float reduce_min(F v) {
    __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_min_ps(s, _mm_movehl_ps(s, s));
    s = _mm_min_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  // v[i][j] <-> v[j][i]
  static void transpose(F (&v)[8]) {
    __m256 t[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(v[i], v[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(v[i], v[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      v[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      v[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      v[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      v[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int j = 0; j < 4; ++j) {
      t[j] = _mm256_permute2f128_ps(v[j], v[4 + j], 0x20);
      t[4 + j] = _mm256_permute2f128_ps(v[j], v[4 + j], 0x31);
    }
    for (int i = 0; i < 8; ++i) v[i] = t[i];
  }
  // 16 bytes as 8 words of two zero-extended u16
  static F widen_u8_pairs(const uint8_t* p) {
    return _mm256_castsi256_ps(
        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }

  // int32 lanes
  using I = __m256i;
  static I zero_i() { return _mm256_setzero_si256(); }
  static I set1_i(int32_t x) { return _mm256_set1_epi32(x); }
  static I load_i(const int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static I load_i_partial(const int32_t* p, int n) { return _mm256_maskload_epi32(p, mask(n)); }
  static void store_i(int32_t* p, I v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  static void store_i_partial(int32_t* p, I v, int n) { _mm256_maskstore_epi32(p, mask(n), v); }
  static I add_i(I a, I b) { return _mm256_add_epi32(a, b); }
  static I sub_i(I a, I b) { return _mm256_sub_epi32(a, b); }
  static I and_i(I a, I b) { return _mm256_and_si256(a, b); }
  static I mullo_i(I a, I b) { return _mm256_mullo_epi32(a, b); }
  static I cast_f_i(F v) { return _mm256_castps_si256(v); }  // the same bits
  static F cvt_i_f(I v) { return _mm256_cvtepi32_ps(v); }
  static I cvt_f_i_nearest(F v) { return _mm256_cvtps_epi32(v); }  // MXCSR default: to nearest even
  // the low byte of each lane, in order in the low 8 bytes (masked to [0, 255], the saturating
  // packs int32 -> int16 -> uint8 keep them)
  static __m128i pack_u8_low(I v) {
    v = _mm256_and_si256(v, set1_i(255));
    const __m128i words =
        _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return _mm_packus_epi16(words, words);
  }
  static void store_u8(uint8_t* p, __m128i bytes, int n) {
    uint8_t tmp[16];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(tmp), bytes);
    for (int i = 0; i < n; ++i) p[i] = tmp[i];
  }
  static void store_u8_whole(uint8_t* p, __m128i bytes) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), bytes);
  }
};

// K in groups of 2: s8 weights sign-extended to s16, u8 pairs zero-extended, then vpmaddwd,
// which (unlike vpmaddubsw) cannot saturate.
struct DotMadd256 {
  static constexpr int kgroup = 2;
  using B = __m256i;
  static B load_b(const int8_t* p) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static __m256i broadcast_a(const uint8_t* p) { return _mm256_set1_epi32(p[0] | (p[1] << 16)); }
  static __m256i dot(__m256i acc, __m256i a, B b) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
  }
};

// Sparse int8 blocks (spmm_tile.h): the block's weights as two s16 pairs against two rows of u16
// input pairs (vpmaddwd cannot saturate); an entry is the two pair words, then the offset of the
// block's first activation row.
struct SpDotMadd256 {
  static constexpr int kgroup = 2;
  static constexpr int entry_words = 3;
  template <int C>
  static void block(__m256i (&acc)[C], const int32_t* xt, int64_t ldxt, const int32_t* entry) {
    const __m256i w01 = _mm256_set1_epi32(entry[0]), w23 = _mm256_set1_epi32(entry[1]);
    const int32_t* x = xt + static_cast<uint32_t>(entry[2]);
    for (int c = 0; c < C; ++c) {
      const __m256i x01 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + c * 8));
      const __m256i x23 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + ldxt + c * 8));
      acc[c] = _mm256_add_epi32(
          acc[c], _mm256_add_epi32(_mm256_madd_epi16(x01, w01), _mm256_madd_epi16(x23, w23)));
    }
  }
};
