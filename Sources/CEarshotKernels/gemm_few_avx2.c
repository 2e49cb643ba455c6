#include "earshot_kernels.h"

#include "avx2_common.h"

#if defined(__x86_64__)

// C[m, n] += sum_k A[m, k] * W[n, k] for a few rows of A (m < M, M small: beams, batched decode)
// with W f32 or bf16 [N, K] read in place, one weight row after another.
//
// Why not the 3 x 4 panel tile of gemm_avx2.c: with a few rows of A the product is bound by
// reading W, and the panel reads 4 weight rows side by side. On the machines measured (a shared
// Zen 4 VM, a Zen 1) one sequential stream per thread reads 2-3x faster than 4 interleaved ones:
// `earshot bench kernels --batch` measured the panel at 16 GB/s of f32 weights for 2-8 rows
// against 34 GB/s for the one-row matvec. Here each weight row is one stream, multiplied by up to
// 8 rows of A (which stay in L1: 8 x K floats) per pass; larger M takes several passes over the
// row, the later ones from L1.

#define EK_FEW_MR 8

EK_TARGET static inline __m256 ek_load_w8(const void *w, int bf16, int64_t off) {
    if (bf16) {
        const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + off)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    }
    return _mm256_loadu_ps((const float *)w + off);
}

// c[m * ldc] += row . a[m] for m < mr (mr a compile-time constant after inlining).
__attribute__((always_inline)) EK_TARGET static inline void ek_few_row(const void *row, int bf16, int64_t K,
                                                                        const float *a, int64_t lda, int mr,
                                                                        float *c, int64_t ldc) {
    __m256 acc[EK_FEW_MR];
    for (int m = 0; m < mr; m++) acc[m] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k += 8) {
        const __m256 w = ek_load_w8(row, bf16, k);
        for (int m = 0; m < mr; m++) acc[m] = _mm256_fmadd_ps(w, _mm256_loadu_ps(a + m * lda + k), acc[m]);
    }
    for (int m = 0; m < mr; m++) c[m * ldc] += ek_hsum(acc[m]);
}

#define EK_FEW_CASE(R) case R: ek_few_row(row, bf16, K, a + m0 * lda, lda, R, c + m0 * ldc + n, ldc); break;

EK_TARGET void ek_gemm_few_rows(int type, const void *w, int64_t K, const float *a, int64_t lda, int64_t M,
                                float *c, int64_t ldc, int64_t n_begin, int64_t n_end) {
    ek_gemm_few_rows_strided(type, w, K, K, a, lda, M, c, ldc, n_begin, n_end);
}

EK_TARGET void ek_gemm_few_rows_strided(int type, const void *w, int64_t ldw, int64_t K, const float *a, int64_t lda,
                                        int64_t M, float *c, int64_t ldc, int64_t n_begin, int64_t n_end) {
    const int bf16 = type == EK_WEIGHT_BF16;
    const int64_t elem = bf16 ? 2 : 4;
    for (int64_t n = n_begin; n < n_end; n++) {
        const void *row = (const uint8_t *)w + n * ldw * elem;
        for (int64_t m0 = 0; m0 < M; m0 += EK_FEW_MR) {
            const int mr = M - m0 < EK_FEW_MR ? (int)(M - m0) : EK_FEW_MR;
            switch (mr) {
                EK_FEW_CASE(1) EK_FEW_CASE(2) EK_FEW_CASE(3) EK_FEW_CASE(4)
                EK_FEW_CASE(5) EK_FEW_CASE(6) EK_FEW_CASE(7) EK_FEW_CASE(8)
            }
        }
    }
}
#endif
