// Helpers shared by the AVX2 kernel files (internal: not part of the module's public header).
#ifndef EARSHOT_AVX2_COMMON_H
#define EARSHOT_AVX2_COMMON_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define EK_TARGET __attribute__((target("avx2,fma,f16c")))

/// An f16 at any alignment, as float.
EK_TARGET static inline float ek_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/// x[nb * 32] as int8 blocks of 32 (xq) with one f32 scale per block (xd), as ggml's q8_0
/// activations (quant_avx2.c; the decode matvecs of every level share it).
void ek_quantize_x(const float *x, int64_t nb, int8_t *xq, float *xd);

/// Sum of the 8 lanes.
EK_TARGET static inline float ek_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif

#endif
