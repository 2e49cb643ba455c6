#include "earshot_kernels.h"

#include "avx2_common.h"

#if defined(__x86_64__)

// q8_0 matrix-vector product on AVX-512 VNNI, for decoding (one activation row).
//
// Same arithmetic as ek_q8_0_matvec_rows (quant_avx2.c): x quantized once to int8 blocks, integer
// dot products per block, scaled by d_w * d_x and summed in float; only the instructions differ.
// Two blocks share a 512-bit register: the weights' signs move onto x with a byte mask
// (vpmovb2m + masked subtract; AVX-512 has no 512-bit vpsignb), then one vpdpbusd does the 64
// multiply-adds that take vpmaddubsw + vpmaddwd per 32 on AVX2. Lanes 0-7 hold block i's partial
// sums and lanes 8-15 block i+1's, so the two scales are spread over the halves with one permute.
// Fewer instructions per block matter because decode on two cores is close to the memory bound:
// the AVX2 kernel needs most of a core to keep up with its share of the bandwidth.

#define EK_VNNI_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni,avx512dq")))

// [d(b0) * xd[0]] x 8 lanes, then [d(b1) * xd[1]] x 8 lanes.
EK_VNNI_TARGET static inline __m512 ek_vnni_scales2(const uint8_t *b0, const uint8_t *b1, const float *xd) {
    uint16_t h0, h1;
    memcpy(&h0, b0, 2);
    memcpy(&h1, b1, 2);
    const __m128 d = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)h0 | ((uint32_t)h1 << 16))));
    const __m128 s = _mm_mul_ps(d, _mm_castpd_ps(_mm_load_sd((const double *)xd)));
    const __m512i halves = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    return _mm512_permutexvar_ps(halves, _mm512_castps128_ps512(s));
}

// 16 int32 partial sums of blocks b (32 weights at b + 2) and b + 34 against x[64].
EK_VNNI_TARGET static inline __m512 ek_vnni_dot2(const uint8_t *b, const int8_t *x) {
    const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(b + 2))),
                                         _mm256_loadu_si256((const __m256i *)(b + EK_Q8_0_BLOCK_BYTES + 2)), 1);
    const __m512i xv = _mm512_load_si512((const void *)x);
    const __m512i xs = _mm512_mask_sub_epi8(xv, _mm512_movepi8_mask(q), _mm512_setzero_si512(), xv);
    return _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(q), xs));
}

EK_VNNI_TARGET void ek_q8_0_matvec_rows_vnni(const uint8_t *w, int64_t cols, const float *x, float *y,
                                             int64_t row_begin, int64_t row_end) {
    const int64_t nb = cols / 32;
    int8_t xq[EK_MAX_QUANT_COLS] __attribute__((aligned(64)));
    float xd[EK_MAX_QUANT_COLS / 32 + 1] __attribute__((aligned(8)));
    ek_quantize_x(x, nb, xq, xd);
    for (int64_t r = row_begin; r < row_end; r++) {
        const uint8_t *b = w + r * nb * EK_Q8_0_BLOCK_BYTES;
        // Two accumulators over alternating pairs of blocks keep the FMA chain short.
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
        int64_t i = 0;
        for (; i + 4 <= nb; i += 4, b += 4 * EK_Q8_0_BLOCK_BYTES) {
            const uint8_t *b2 = b + 2 * EK_Q8_0_BLOCK_BYTES;
            acc0 = _mm512_fmadd_ps(ek_vnni_scales2(b, b + EK_Q8_0_BLOCK_BYTES, xd + i), ek_vnni_dot2(b, xq + i * 32), acc0);
            acc1 = _mm512_fmadd_ps(ek_vnni_scales2(b2, b2 + EK_Q8_0_BLOCK_BYTES, xd + i + 2),
                                   ek_vnni_dot2(b2, xq + i * 32 + 64), acc1);
        }
        if (i + 2 <= nb) {
            acc0 = _mm512_fmadd_ps(ek_vnni_scales2(b, b + EK_Q8_0_BLOCK_BYTES, xd + i), ek_vnni_dot2(b, xq + i * 32), acc0);
            i += 2;
            b += 2 * EK_Q8_0_BLOCK_BYTES;
        }
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
        if (i < nb) {   // an odd last block, on 256-bit registers
            const __m256i q = _mm256_loadu_si256((const __m256i *)(b + 2));
            const __m256i xv = _mm256_load_si256((const __m256i *)(xq + i * 32));
            const __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(q, q), _mm256_sign_epi8(xv, q));
            sum += ek_half(b) * xd[i] * ek_hsum(_mm256_cvtepi32_ps(dot));
        }
        y[r] = sum;
    }
}

#endif
