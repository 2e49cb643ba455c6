#include "earshot_kernels.h"

#include "avx2_common.h"

#if defined(__x86_64__)

// q8_0 decode products on AVX-512 VNNI for one or several activation rows (one token of each
// sequence in a decode batch), one kernel for both so that a row's result never depends on which
// other rows share the step: batched and unbatched decoding give bit-identical logits.
//
// The arithmetic is the prefill GEMM's (gemm_vnni.c): activations quantized to int8 blocks of 32
// stored as x + 128 (unsigned bytes), weights signed, and the weights' blocks transposed so that
// after 8 vpdpbusd a 32-bit lane holds one block's whole integer dot product: one conversion, one
// scale multiply and one FMA then finish 16 blocks (two groups of 8 in one 512-bit register). The
// GEMM packs 4 weight rows into a panel buffer first; here each weight row is one sequential
// stream (a few activation rows cannot pay for packing, and one stream per thread reads fastest on
// the machines measured) and the transpose is done in registers, once for every activation row.
//
// Activation layout (ek_q8_decode_quantize_rows), per pair of groups (16 blocks, 512 values):
// 8 vectors of 64 bytes, vector s = [4 values of each of blocks 0-7 | of blocks 8-15] (block j's
// elements 4s ... 4s + 3 in lane j), then the 16 block scales; blocks past the row hold 128 (zero)
// with scale 0.

#define EK_VNNI_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni,avx512dq")))
#define EK_DEC_PAIR_BYTES (512 + 16 * 4)
#define EK_DEC_MR 8                        // activation rows per pass over a weight row

int64_t ek_q8_decode_row_bytes(int64_t K) { return (K / 32 + 15) / 16 * EK_DEC_PAIR_BYTES; }

EK_VNNI_TARGET void ek_q8_decode_quantize_rows(const float *a, int64_t lda, int64_t K, uint8_t *out, int64_t M) {
    const int64_t nb = K / 32, pairs = (nb + 15) / 16, row_bytes = pairs * EK_DEC_PAIR_BYTES;
    const __m256i bias = _mm256_set1_epi32(128);
    for (int64_t r = 0; r < M; r++) {
        const float *x = a + r * lda;
        for (int64_t p = 0; p < pairs; p++) {
            uint8_t *vals = out + r * row_bytes + p * EK_DEC_PAIR_BYTES;
            float *scales = (float *)(vals + 512);
            for (int j = 0; j < 16; j++) {
                const int64_t b = p * 16 + j;
                if (b >= nb) {
                    for (int s = 0; s < 8; s++) memset(vals + s * 64 + j * 4, 128, 4);
                    scales[j] = 0;
                    continue;
                }
                __m256i q[4];
                scales[j] = ek_quantize_block32(x + b * 32, q);   // the same rounding as every quantizer here
                for (int t = 0; t < 4; t++) q[t] = _mm256_add_epi32(q[t], bias);
                for (int t = 0; t < 4; t++) {
                    // 8 int32 (1...255) -> 8 bytes: elements 8t ... 8t + 7, i.e. words 2t and 2t + 1.
                    const __m128i bytes = _mm256_cvtepi32_epi8(q[t]);
                    uint32_t lo = (uint32_t)_mm_cvtsi128_si32(bytes), hi = (uint32_t)_mm_extract_epi32(bytes, 1);
                    memcpy(vals + (2 * t) * 64 + j * 4, &lo, 4);
                    memcpy(vals + (2 * t + 1) * 64 + j * 4, &hi, 4);
                }
            }
        }
    }
}

// Blocks 16p ... 16p + 15 of a weight row (zero past its end): r[s] lane j = word s of block j,
// ws their scales, start = -128 * (the weight bytes of each lane), cancelling the activations' +128.
EK_VNNI_TARGET static inline void ek_dec_pair(const uint8_t *row, int64_t nb, int64_t p, __m512i r[8],
                                              __m512 *ws, __m512i *start) {
    __m512i v[8];
    const int64_t b0 = p * 16;
    if (b0 + 16 <= nb) {
        const uint8_t *blk = row + b0 * EK_Q8_0_BLOCK_BYTES;
        for (int j = 0; j < 8; j++) {
            const uint8_t *lo = blk + j * EK_Q8_0_BLOCK_BYTES, *hi = blk + (j + 8) * EK_Q8_0_BLOCK_BYTES;
            v[j] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(lo + 2))),
                                      _mm256_loadu_si256((const __m256i *)(hi + 2)), 1);
        }
        // The 16 f16 scales, 34 bytes apart, in one gather (16 narrow stores and a vector load of
        // them stalled on store forwarding: -15% on the one-row product).
        const __m512i offsets = _mm512_setr_epi32(0, 34, 68, 102, 136, 170, 204, 238, 272, 306, 340, 374, 408, 442,
                                                  476, 510);
        const __m512i words = _mm512_i32gather_epi32(offsets, (const void *)blk, 1);
        *ws = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words));
    } else {
        uint16_t h[16];
        for (int j = 0; j < 8; j++) {
            __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
            h[j] = h[j + 8] = 0;
            if (b0 + j < nb) {
                const uint8_t *blk = row + (b0 + j) * EK_Q8_0_BLOCK_BYTES;
                lo = _mm256_loadu_si256((const __m256i *)(blk + 2));
                memcpy(&h[j], blk, 2);
            }
            if (b0 + j + 8 < nb) {
                const uint8_t *blk = row + (b0 + j + 8) * EK_Q8_0_BLOCK_BYTES;
                hi = _mm256_loadu_si256((const __m256i *)(blk + 2));
                memcpy(&h[j + 8], blk, 2);
            }
            v[j] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        }
        *ws = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)h));
    }
    // 8 x 8 transpose of 32-bit words in each 256-bit half.
    const __m512i t0 = _mm512_unpacklo_epi32(v[0], v[1]), t1 = _mm512_unpackhi_epi32(v[0], v[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(v[2], v[3]), t3 = _mm512_unpackhi_epi32(v[2], v[3]);
    const __m512i t4 = _mm512_unpacklo_epi32(v[4], v[5]), t5 = _mm512_unpackhi_epi32(v[4], v[5]);
    const __m512i t6 = _mm512_unpacklo_epi32(v[6], v[7]), t7 = _mm512_unpackhi_epi32(v[6], v[7]);
    const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
    const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
    const __m512i u4 = _mm512_unpacklo_epi64(t4, t6), u5 = _mm512_unpackhi_epi64(t4, t6);
    const __m512i u6 = _mm512_unpacklo_epi64(t5, t7), u7 = _mm512_unpackhi_epi64(t5, t7);
    // Per half: low 128 bits from the first operand, high from the second (permute2x128's 0x20 / 0x31).
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    r[0] = _mm512_permutex2var_epi64(u0, lo, u4); r[1] = _mm512_permutex2var_epi64(u1, lo, u5);
    r[2] = _mm512_permutex2var_epi64(u2, lo, u6); r[3] = _mm512_permutex2var_epi64(u3, lo, u7);
    r[4] = _mm512_permutex2var_epi64(u0, hi, u4); r[5] = _mm512_permutex2var_epi64(u1, hi, u5);
    r[6] = _mm512_permutex2var_epi64(u2, hi, u6); r[7] = _mm512_permutex2var_epi64(u3, hi, u7);
    // Integer sums are exact in any order: two chains of 4 keep the dependency short.
    const __m512i k128 = _mm512_set1_epi8((char)0x80);
    __m512i sa = _mm512_setzero_si512(), sb = _mm512_setzero_si512();
    for (int s = 0; s < 4; s++) {
        sa = _mm512_dpbusd_epi32(sa, k128, r[s]);
        sb = _mm512_dpbusd_epi32(sb, k128, r[s + 4]);
    }
    *start = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_add_epi32(sa, sb));
}

// y[m * ldy] = row . A[m] for m < mr (a compile-time constant after inlining).
__attribute__((always_inline)) EK_VNNI_TARGET static inline void ek_dec_row(const uint8_t *row, int64_t nb,
                                                                            const uint8_t *aq, int64_t row_bytes,
                                                                            int mr, float *y, int64_t ldy) {
    const int64_t pairs = (nb + 15) / 16;
    __m512 acc[EK_DEC_MR];
    for (int m = 0; m < mr; m++) acc[m] = _mm512_setzero_ps();
    for (int64_t p = 0; p < pairs; p++) {
        __m512i r[8], start;
        __m512 ws;
        ek_dec_pair(row, nb, p, r, &ws, &start);
        for (int m = 0; m < mr; m++) {
            const uint8_t *a = aq + m * row_bytes + p * EK_DEC_PAIR_BYTES;
            // Two chains of 4 (exact integer sums: the order does not change them).
            __m512i ia = start, ib = _mm512_setzero_si512();
            for (int s = 0; s < 4; s++) {
                ia = _mm512_dpbusd_epi32(ia, _mm512_loadu_si512((const void *)(a + s * 64)), r[s]);
                ib = _mm512_dpbusd_epi32(ib, _mm512_loadu_si512((const void *)(a + (s + 4) * 64)), r[s + 4]);
            }
            const __m512i isum = _mm512_add_epi32(ia, ib);
            const __m512 xs = _mm512_loadu_ps((const float *)(a + 512));
            acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(xs, ws), acc[m]);
        }
    }
    for (int m = 0; m < mr; m++) y[m * ldy] = _mm512_reduce_add_ps(acc[m]);
}

#define EK_DEC_CASE(R) case R: ek_dec_row(row, nb, aq + m0 * row_bytes, row_bytes, R, y + m0 * ldy + n, ldy); break;

EK_VNNI_TARGET void ek_q8_0_decode_vnni(const uint8_t *w, int64_t K, const uint8_t *aq, int64_t M, float *y,
                                       int64_t ldy, int64_t n_begin, int64_t n_end) {
    const int64_t nb = K / 32, row_bytes = ek_q8_decode_row_bytes(K);
    for (int64_t n = n_begin; n < n_end; n++) {
        const uint8_t *row = w + n * nb * EK_Q8_0_BLOCK_BYTES;
        for (int64_t m0 = 0; m0 < M; m0 += EK_DEC_MR) {
            const int mr = M - m0 < EK_DEC_MR ? (int)(M - m0) : EK_DEC_MR;
            switch (mr) {
                EK_DEC_CASE(1) EK_DEC_CASE(2) EK_DEC_CASE(3) EK_DEC_CASE(4)
                EK_DEC_CASE(5) EK_DEC_CASE(6) EK_DEC_CASE(7) EK_DEC_CASE(8)
            }
        }
    }
}

// The one-row product the decode matvecs call: x quantized here (on the stack, as the AVX2 kernel
// quantizes its x), then the kernel above with M = 1.
EK_VNNI_TARGET void ek_q8_0_matvec_rows_vnni(const uint8_t *w, int64_t cols, const float *x, float *y,
                                             int64_t row_begin, int64_t row_end) {
    uint8_t aq[(EK_MAX_QUANT_COLS / 512) * EK_DEC_PAIR_BYTES] __attribute__((aligned(64)));
    ek_q8_decode_quantize_rows(x, cols, cols, aq, 1);
    ek_q8_0_decode_vnni(w, cols, aq, 1, y, 1, row_begin, row_end);
}
#endif
