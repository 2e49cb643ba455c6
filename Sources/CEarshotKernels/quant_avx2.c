#include "earshot_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define EK_TARGET __attribute__((target("avx2,fma,f16c")))

int ek_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

EK_TARGET static inline float ek_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

EK_TARGET static inline float ek_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// 8 signed bytes -> 8 floats.
EK_TARGET static inline __m256 ek_i8x8(const uint8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

EK_TARGET void ek_q8_0_matvec_rows(const uint8_t *w, int64_t cols, const float *x, float *y,
                                   int64_t row_begin, int64_t row_end) {
    const int64_t nb = cols / 32;
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *b = w + r * nb * EK_Q8_0_BLOCK_BYTES;
        // Two accumulators over alternating blocks hide the FMA latency.
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 2 <= nb; i += 2, b += 2 * EK_Q8_0_BLOCK_BYTES) {
            const float *xb = x + i * 32;
            const uint8_t *q = b + 2;
            __m256 s = _mm256_mul_ps(ek_i8x8(q), _mm256_loadu_ps(xb));
            s = _mm256_fmadd_ps(ek_i8x8(q + 8), _mm256_loadu_ps(xb + 8), s);
            s = _mm256_fmadd_ps(ek_i8x8(q + 16), _mm256_loadu_ps(xb + 16), s);
            s = _mm256_fmadd_ps(ek_i8x8(q + 24), _mm256_loadu_ps(xb + 24), s);
            acc0 = _mm256_fmadd_ps(_mm256_set1_ps(ek_half(b)), s, acc0);
            const uint8_t *b1 = b + EK_Q8_0_BLOCK_BYTES;
            const uint8_t *q1 = b1 + 2;
            __m256 t = _mm256_mul_ps(ek_i8x8(q1), _mm256_loadu_ps(xb + 32));
            t = _mm256_fmadd_ps(ek_i8x8(q1 + 8), _mm256_loadu_ps(xb + 40), t);
            t = _mm256_fmadd_ps(ek_i8x8(q1 + 16), _mm256_loadu_ps(xb + 48), t);
            t = _mm256_fmadd_ps(ek_i8x8(q1 + 24), _mm256_loadu_ps(xb + 56), t);
            acc1 = _mm256_fmadd_ps(_mm256_set1_ps(ek_half(b1)), t, acc1);
        }
        for (; i < nb; i++, b += EK_Q8_0_BLOCK_BYTES) {
            const float *xb = x + i * 32;
            const uint8_t *q = b + 2;
            __m256 s = _mm256_mul_ps(ek_i8x8(q), _mm256_loadu_ps(xb));
            s = _mm256_fmadd_ps(ek_i8x8(q + 8), _mm256_loadu_ps(xb + 8), s);
            s = _mm256_fmadd_ps(ek_i8x8(q + 16), _mm256_loadu_ps(xb + 16), s);
            s = _mm256_fmadd_ps(ek_i8x8(q + 24), _mm256_loadu_ps(xb + 24), s);
            acc0 = _mm256_fmadd_ps(_mm256_set1_ps(ek_half(b)), s, acc0);
        }
        y[r] = ek_hsum(_mm256_add_ps(acc0, acc1));
    }
}

// 16 packed nibbles -> elements 0..15 (low nibbles) and 16..31 (high nibbles) as 4 x 8 floats.
EK_TARGET static inline void ek_u4x32(const uint8_t *q, __m256 out[4]) {
    const __m128i bytes = _mm_loadu_si128((const __m128i *)q);
    const __m128i mask = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(bytes, mask);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
    out[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo));
    out[1] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
    out[2] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi));
    out[3] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
}

EK_TARGET void ek_q4_1_matvec_rows(const uint8_t *w, int64_t cols, const float *x, float *y,
                                   int64_t row_begin, int64_t row_end) {
    const int64_t nb = cols / 32;
    // sum(w * x) = d * sum(q * x) + m * sum(x): the block sums of x are shared by every row.
    // A fixed stack array: callers guarantee cols <= EK_MAX_QUANT_COLS (checked when a quantized
    // matrix is made; Qwen3's widest is 9,728 columns).
    float xsum[EK_MAX_QUANT_COLS / 32];
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * 32;
        __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(xb), _mm256_loadu_ps(xb + 8)),
                                 _mm256_add_ps(_mm256_loadu_ps(xb + 16), _mm256_loadu_ps(xb + 24)));
        xsum[i] = ek_hsum(s);
    }
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *b = w + r * nb * EK_Q4_1_BLOCK_BYTES;
        __m256 acc = _mm256_setzero_ps();
        float offset = 0;
        for (int64_t i = 0; i < nb; i++, b += EK_Q4_1_BLOCK_BYTES) {
            const float *xb = x + i * 32;
            __m256 v[4];
            ek_u4x32(b + 4, v);
            __m256 s = _mm256_mul_ps(v[0], _mm256_loadu_ps(xb));
            s = _mm256_fmadd_ps(v[1], _mm256_loadu_ps(xb + 8), s);
            s = _mm256_fmadd_ps(v[2], _mm256_loadu_ps(xb + 16), s);
            s = _mm256_fmadd_ps(v[3], _mm256_loadu_ps(xb + 24), s);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(ek_half(b)), s, acc);
            offset += ek_half(b + 2) * xsum[i];
        }
        y[r] = ek_hsum(acc) + offset;
    }
}

EK_TARGET static inline __m256 ek_bf16x8(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

EK_TARGET void ek_bf16_matvec_rows(const uint16_t *w, int64_t cols, const float *x, float *y,
                                   int64_t row_begin, int64_t row_end) {
    const int64_t end32 = cols & ~(int64_t)31;
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint16_t *row = w + r * cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        int64_t j = 0;
        for (; j < end32; j += 32) {
            a0 = _mm256_fmadd_ps(ek_bf16x8(row + j), _mm256_loadu_ps(x + j), a0);
            a1 = _mm256_fmadd_ps(ek_bf16x8(row + j + 8), _mm256_loadu_ps(x + j + 8), a1);
            a2 = _mm256_fmadd_ps(ek_bf16x8(row + j + 16), _mm256_loadu_ps(x + j + 16), a2);
            a3 = _mm256_fmadd_ps(ek_bf16x8(row + j + 24), _mm256_loadu_ps(x + j + 24), a3);
        }
        float s = ek_hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; j < cols; j++) {
            uint32_t bits = (uint32_t)row[j] << 16;
            float v;
            memcpy(&v, &bits, 4);
            s += v * x[j];
        }
        y[r] = s;
    }
}

EK_TARGET void ek_q8_0_dequantize(const uint8_t *w, int64_t blocks, float *out) {
    for (int64_t i = 0; i < blocks; i++, w += EK_Q8_0_BLOCK_BYTES, out += 32) {
        const __m256 d = _mm256_set1_ps(ek_half(w));
        _mm256_storeu_ps(out, _mm256_mul_ps(d, ek_i8x8(w + 2)));
        _mm256_storeu_ps(out + 8, _mm256_mul_ps(d, ek_i8x8(w + 10)));
        _mm256_storeu_ps(out + 16, _mm256_mul_ps(d, ek_i8x8(w + 18)));
        _mm256_storeu_ps(out + 24, _mm256_mul_ps(d, ek_i8x8(w + 26)));
    }
}

EK_TARGET void ek_q4_1_dequantize(const uint8_t *w, int64_t blocks, float *out) {
    for (int64_t i = 0; i < blocks; i++, w += EK_Q4_1_BLOCK_BYTES, out += 32) {
        const __m256 d = _mm256_set1_ps(ek_half(w)), m = _mm256_set1_ps(ek_half(w + 2));
        __m256 v[4];
        ek_u4x32(w + 4, v);
        for (int k = 0; k < 4; k++) _mm256_storeu_ps(out + 8 * k, _mm256_fmadd_ps(d, v[k], m));
    }
}

EK_TARGET void ek_bf16_to_f32(const uint16_t *src, float *dst, int64_t count) {
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(dst + i, ek_bf16x8(src + i));
    for (; i < count; i++) {
        uint32_t bits = (uint32_t)src[i] << 16;
        memcpy(dst + i, &bits, 4);
    }
}

#else
int ek_cpu_has_avx2_fma(void) { return 0; }
#endif
