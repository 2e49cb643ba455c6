#include "earshot_kernels.h"

#include "avx2_common.h"

#if defined(__x86_64__)

int ek_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

// 8 signed bytes -> 8 floats.
EK_TARGET static inline __m256 ek_i8x8(const uint8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

// Quantizes x[cols] to int8 blocks of 32 (xq) with one f32 scale per block (xd), as ggml's q8_0
// activations: the dot products then run on integer multiply-adds (vpmaddubsw), about twice the
// weights per cycle of converting every weight to float, which lifts decode to the memory bound.
EK_TARGET void ek_quantize_x(const float *x, int64_t nb, int8_t *xq, float *xd) {
    for (int64_t i = 0; i < nb; i++) {
        __m256i q[4];
        xd[i] = ek_quantize_block32(x + i * 32, q);
        // Pack 32 int32 -> 32 int8 and undo the lane interleave.
        __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
        __m256i p = _mm256_packs_epi16(p01, p23);
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(xq + i * 32), p);
    }
}

// Sum over 32 pairs of (unsigned a) * (signed b), as 8 int32 lanes converted to float.
EK_TARGET static inline __m256 ek_dot_u8s8(__m256i a, __m256i b) {
    const __m256i pairs = _mm256_maddubs_epi16(a, b);                 // 16 x int16 (no overflow: 127*127*2 or 15*127*2)
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

EK_TARGET void ek_q8_0_matvec_rows(const uint8_t *w, int64_t cols, const float *x, float *y,
                                   int64_t row_begin, int64_t row_end) {
    const int64_t nb = cols / 32;
    int8_t xq[EK_MAX_QUANT_COLS] __attribute__((aligned(32)));
    float xd[EK_MAX_QUANT_COLS / 32];
    ek_quantize_x(x, nb, xq, xd);
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *b = w + r * nb * EK_Q8_0_BLOCK_BYTES;
        // Two accumulators over alternating blocks keep the FMA chain short.
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        int64_t i = 0;
        for (; i + 2 <= nb; i += 2, b += 2 * EK_Q8_0_BLOCK_BYTES) {
            const __m256i q0 = _mm256_loadu_si256((const __m256i *)(b + 2));
            const __m256i x0 = _mm256_load_si256((const __m256i *)(xq + i * 32));
            // maddubs multiplies unsigned by signed: move the weights' signs onto x.
            const __m256 s0 = ek_dot_u8s8(_mm256_sign_epi8(q0, q0), _mm256_sign_epi8(x0, q0));
            acc0 = _mm256_fmadd_ps(_mm256_set1_ps(ek_half(b) * xd[i]), s0, acc0);
            const uint8_t *b1 = b + EK_Q8_0_BLOCK_BYTES;
            const __m256i q1 = _mm256_loadu_si256((const __m256i *)(b1 + 2));
            const __m256i x1 = _mm256_load_si256((const __m256i *)(xq + i * 32 + 32));
            const __m256 s1 = ek_dot_u8s8(_mm256_sign_epi8(q1, q1), _mm256_sign_epi8(x1, q1));
            acc1 = _mm256_fmadd_ps(_mm256_set1_ps(ek_half(b1) * xd[i + 1]), s1, acc1);
        }
        for (; i < nb; i++, b += EK_Q8_0_BLOCK_BYTES) {
            const __m256i q0 = _mm256_loadu_si256((const __m256i *)(b + 2));
            const __m256i x0 = _mm256_load_si256((const __m256i *)(xq + i * 32));
            const __m256 s0 = ek_dot_u8s8(_mm256_sign_epi8(q0, q0), _mm256_sign_epi8(x0, q0));
            acc0 = _mm256_fmadd_ps(_mm256_set1_ps(ek_half(b) * xd[i]), s0, acc0);
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
    // x as int8 blocks; sum(w * x) = d * dx * sum(q * xq) + m * sum(x), and the block sums of x
    // (from the quantized values, matching the products) are shared by every row.
    int8_t xq[EK_MAX_QUANT_COLS] __attribute__((aligned(32)));
    float xd[EK_MAX_QUANT_COLS / 32], xsum[EK_MAX_QUANT_COLS / 32];
    ek_quantize_x(x, nb, xq, xd);
    const __m256i ones8 = _mm256_set1_epi8(1);
    for (int64_t i = 0; i < nb; i++) {
        const __m256i xb = _mm256_load_si256((const __m256i *)(xq + i * 32));
        xsum[i] = xd[i] * ek_hsum(ek_dot_u8s8(ones8, xb));
    }
    const __m128i mask = _mm_set1_epi8(0x0F);
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *b = w + r * nb * EK_Q4_1_BLOCK_BYTES;
        __m256 acc = _mm256_setzero_ps();
        float offset = 0;
        for (int64_t i = 0; i < nb; i++, b += EK_Q4_1_BLOCK_BYTES) {
            const __m128i bytes = _mm_loadu_si128((const __m128i *)(b + 4));
            // Low nibbles are elements 0..15, high nibbles 16..31: one 256-bit vector of 32 quants.
            const __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), _mm_and_si128(bytes, mask));
            const __m256i xb = _mm256_load_si256((const __m256i *)(xq + i * 32));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(ek_half(b) * xd[i]), ek_dot_u8s8(q, xb), acc);
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
