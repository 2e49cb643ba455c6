#include "earshot_kernels.h"

#include "avx2_common.h"

#if defined(__x86_64__)

// Attention's weighted sum of values for a few queries that share them (Whisper's beams over the
// window's cross-attention keys and values): out[t] = sum_j p[t, j] * v[j]. Each value row is
// loaded once per group of 3 queries and 32 columns (12 accumulators, 4 loads, 3 broadcasts per
// row), instead of once per query as a one-query kernel does.

// out[t * os + i0 .. + 8 * C) for t < tr (1...3); C ymm columns (1 or 4) after inlining.
__attribute__((always_inline)) EK_TARGET static inline void ek_values_tile(const float *p, int64_t ps, int tr,
                                                                            const float *v, int64_t vs, int64_t lk,
                                                                            int cols, float *out, int64_t os) {
    __m256 acc[3][4];
    for (int t = 0; t < tr; t++)
        for (int c = 0; c < cols; c++) acc[t][c] = _mm256_setzero_ps();
    for (int64_t j = 0; j < lk; j++) {
        const float *vj = v + j * vs;
        __m256 vv[4];
        for (int c = 0; c < cols; c++) vv[c] = _mm256_loadu_ps(vj + 8 * c);
        for (int t = 0; t < tr; t++) {
            const __m256 pj = _mm256_broadcast_ss(p + t * ps + j);
            for (int c = 0; c < cols; c++) acc[t][c] = _mm256_fmadd_ps(pj, vv[c], acc[t][c]);
        }
    }
    for (int t = 0; t < tr; t++)
        for (int c = 0; c < cols; c++) _mm256_storeu_ps(out + t * os + 8 * c, acc[t][c]);
}

EK_TARGET void ek_attention_values_few(const float *p, int64_t ps, int64_t lq, const float *v, int64_t vs, int64_t lk,
                                       int64_t hd, float *out, int64_t os) {
    for (int64_t t0 = 0; t0 < lq; t0 += 3) {
        const int tr = lq - t0 < 3 ? (int)(lq - t0) : 3;
        const float *pt = p + t0 * ps;
        float *ot = out + t0 * os;
        int64_t i = 0;
        for (; i + 32 <= hd; i += 32) {
            switch (tr) {
            case 1: ek_values_tile(pt, ps, 1, v + i, vs, lk, 4, ot + i, os); break;
            case 2: ek_values_tile(pt, ps, 2, v + i, vs, lk, 4, ot + i, os); break;
            default: ek_values_tile(pt, ps, 3, v + i, vs, lk, 4, ot + i, os); break;
            }
        }
        for (; i < hd; i += 8) {
            switch (tr) {
            case 1: ek_values_tile(pt, ps, 1, v + i, vs, lk, 1, ot + i, os); break;
            case 2: ek_values_tile(pt, ps, 2, v + i, vs, lk, 1, ot + i, os); break;
            default: ek_values_tile(pt, ps, 3, v + i, vs, lk, 1, ot + i, os); break;
            }
        }
    }
}
#endif
