#include "earshot_kernels.h"

#include "avx2_common.h"

#if defined(__x86_64__)

// C[m, n] += sum_k A[m, k] * W[n, k] for m < M and n in [n_begin, n_end), with W stored as
// q8_0 / q4_1 blocks, bf16 or f32 rows ([N, K], PyTorch layout) and A, C f32 row-major.
//
// Why not dequantize + sgemm: at prefill sizes (M ~ 100 prompt rows) sgemm spends a large part
// of its time packing the freshly dequantized f32 weights, which were themselves written to
// memory once. Here each panel of 4 weight rows x KC columns is dequantized once straight into an
// L1-sized buffer and used against every row of A; the 3 x 4 register tile does 12 FMAs per 7
// loads, and partial sums leave registers once per KC columns.
//
// Blocking, measured single-threaded on a Zen 1 core (FMA peak 36.8 GFLOPS) at the aligner's
// shapes (M = 624 rows, K = 1024, N = 3072): the A rows of one pass over the panels are kept to
// EK_MC rows so they stay in L2 (all 624 rows x 512 columns, 1.3 MB, streamed from L3 once per panel:
// 26-27 GFLOPS); with EK_MC = 126 and EK_KC = 1024, 33-35 GFLOPS for q8_0 and bf16, and the same
// or better at M = 119 (a Qwen3-ASR prompt) and K = 4096 (the encoder's fc2).
//
// f32 weights are used in place (no panel copy): for a few rows of A (Whisper's beams, a short
// prompt) the product is bound by reading W once, and sgemm would first pack all of W.

#define EK_KC 1024
#define EK_NR 4
#define EK_MR 3
#define EK_MC 126

// Dequantizes columns [k0, k0 + kc) of weight row n into out[kc] (kc a multiple of 32).
EK_TARGET static void ek_unpack_row(int type, const void *w, int64_t K, int64_t n, int64_t k0, int64_t kc, float *out) {
    if (type == EK_WEIGHT_F32) {
        memcpy(out, (const float *)w + n * K + k0, (size_t)kc * sizeof(float));
        return;
    }
    if (type == EK_WEIGHT_BF16) {
        const uint16_t *row = (const uint16_t *)w + n * K + k0;
        for (int64_t j = 0; j < kc; j += 8) {
            __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(row + j)));
            _mm256_storeu_ps(out + j, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)));
        }
        return;
    }
    const int64_t nb = K / 32;
    if (type == EK_WEIGHT_Q8_0) {
        ek_q8_0_dequantize((const uint8_t *)w + (n * nb + k0 / 32) * EK_Q8_0_BLOCK_BYTES, kc / 32, out);
    } else {
        ek_q4_1_dequantize((const uint8_t *)w + (n * nb + k0 / 32) * EK_Q4_1_BLOCK_BYTES, kc / 32, out);
    }
}

// c[0..4) += the lane sums of v0..v3.
EK_TARGET static inline void ek_add_hsum4(float *c, __m256 v0, __m256 v1, __m256 v2, __m256 v3) {
    const __m256 s01 = _mm256_hadd_ps(v0, v1), s23 = _mm256_hadd_ps(v2, v3);   // pairwise sums, per 128-bit half
    const __m256 s = _mm256_hadd_ps(s01, s23);                                  // [v0 v1 v2 v3] per half
    const __m128 t = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    _mm_storeu_ps(c, _mm_add_ps(_mm_loadu_ps(c), t));
}

// acc[r][j] += A[r, :kc] . P[j, :kc] for r < mr (1...3), j < 4 (P's rows `ps` floats apart);
// adds the sums into C.
EK_TARGET static inline void ek_tile(const float *a, int64_t lda, int mr, const float *p, int64_t ps, int64_t kc,
                                     float *c, int64_t ldc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c02 = _mm256_setzero_ps(), c03 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps(), c12 = _mm256_setzero_ps(), c13 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c22 = _mm256_setzero_ps(), c23 = _mm256_setzero_ps();
    const float *a0 = a, *a1 = a + (mr > 1 ? lda : 0), *a2 = a + (mr > 2 ? 2 * lda : 0);
    for (int64_t k = 0; k < kc; k += 8) {
        const __m256 x0 = _mm256_loadu_ps(a0 + k), x1 = _mm256_loadu_ps(a1 + k), x2 = _mm256_loadu_ps(a2 + k);
        __m256 w = _mm256_loadu_ps(p + k);
        c00 = _mm256_fmadd_ps(x0, w, c00); c10 = _mm256_fmadd_ps(x1, w, c10); c20 = _mm256_fmadd_ps(x2, w, c20);
        w = _mm256_loadu_ps(p + ps + k);
        c01 = _mm256_fmadd_ps(x0, w, c01); c11 = _mm256_fmadd_ps(x1, w, c11); c21 = _mm256_fmadd_ps(x2, w, c21);
        w = _mm256_loadu_ps(p + 2 * ps + k);
        c02 = _mm256_fmadd_ps(x0, w, c02); c12 = _mm256_fmadd_ps(x1, w, c12); c22 = _mm256_fmadd_ps(x2, w, c22);
        w = _mm256_loadu_ps(p + 3 * ps + k);
        c03 = _mm256_fmadd_ps(x0, w, c03); c13 = _mm256_fmadd_ps(x1, w, c13); c23 = _mm256_fmadd_ps(x2, w, c23);
    }
    ek_add_hsum4(c, c00, c01, c02, c03);
    if (mr > 1) ek_add_hsum4(c + ldc, c10, c11, c12, c13);
    if (mr > 2) ek_add_hsum4(c + 2 * ldc, c20, c21, c22, c23);
}

EK_TARGET void ek_gemm_rows(int type, const void *w, int64_t K, const float *a, int64_t lda, int64_t M,
                            float *c, int64_t ldc, int64_t n_begin, int64_t n_end) {
    float panel[EK_NR * EK_KC] __attribute__((aligned(32)));
    for (int64_t k0 = 0; k0 < K; k0 += EK_KC) {
        const int64_t kc = K - k0 < EK_KC ? K - k0 : EK_KC;
        for (int64_t m0 = 0; m0 < M; m0 += EK_MC) {
            const int64_t m1 = M - m0 < EK_MC ? M : m0 + EK_MC;
            for (int64_t n = n_begin; n < n_end; n += EK_NR) {
                // The last panel of a range that is not a multiple of 4 rows: zero rows past the
                // end, sums through a small buffer so C is written only inside the range.
                const int nr = n_end - n < EK_NR ? (int)(n_end - n) : EK_NR;
                const float *p = panel;
                int64_t ps = EK_KC;
                if (type == EK_WEIGHT_F32 && nr == EK_NR) {
                    p = (const float *)w + n * K + k0;
                    ps = K;
                } else {
                    for (int j = 0; j < nr; j++) ek_unpack_row(type, w, K, n + j, k0, kc, panel + j * EK_KC);
                    for (int j = nr; j < EK_NR; j++) memset(panel + j * EK_KC, 0, (size_t)kc * sizeof(float));
                }
                for (int64_t m = m0; m < m1; m += EK_MR) {
                    const int mr = m1 - m < EK_MR ? (int)(m1 - m) : EK_MR;
                    if (nr == EK_NR) {
                        ek_tile(a + m * lda + k0, lda, mr, p, ps, kc, c + m * ldc + n, ldc);
                        continue;
                    }
                    float part[EK_MR * EK_NR] = {0};
                    ek_tile(a + m * lda + k0, lda, mr, p, ps, kc, part, EK_NR);
                    for (int r = 0; r < mr; r++)
                        for (int j = 0; j < nr; j++) c[(m + r) * ldc + n + j] += part[r * EK_NR + j];
                }
            }
        }
    }
}

// The f32 case with W's rows `ldw` floats apart and short K (attention scores: one head's keys
// inside the cache, K = head dim), for a few rows of A: 3 x 4 tiles straight from W (which sits in
// L2 for the whole call), 4 dot products reduced together instead of one horizontal sum each.
// The rows past the last multiple of 4 go through ek_gemm_few_rows_strided.
EK_TARGET void ek_gemm_f32_tiles_strided(const float *w, int64_t ldw, int64_t K, const float *a, int64_t lda,
                                         int64_t M, float *c, int64_t ldc, int64_t n_begin, int64_t n_end) {
    int64_t n = n_begin;
    for (; n + EK_NR <= n_end; n += EK_NR) {
        for (int64_t m = 0; m < M; m += EK_MR) {
            const int mr = M - m < EK_MR ? (int)(M - m) : EK_MR;
            ek_tile(a + m * lda, lda, mr, w + n * ldw, ldw, K, c + m * ldc + n, ldc);
        }
    }
    if (n < n_end) ek_gemm_few_rows_strided(EK_WEIGHT_F32, w, ldw, K, a, lda, M, c, ldc, n, n_end);
}
#endif
