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

/// One block of 32 activations as q8_0 quantizes them (every activation quantizer here shares it,
/// so all kernels round alike): returns the scale d = max|x| / 127 and sets q[t] to values
/// 8t ... 8t + 7 divided by d, rounded to nearest (MXCSR default), as int32.
EK_TARGET static inline float ek_quantize_block32(const float *xb, __m256i q[4]) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8);
    const __m256 v2 = _mm256_loadu_ps(xb + 16), v3 = _mm256_loadu_ps(xb + 24);
    const __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                   _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    const float d = _mm_cvtss_f32(h) / 127.0f;
    const __m256 inv = _mm256_set1_ps(d > 0 ? 1.0f / d : 0.0f);
    q[0] = _mm256_cvtps_epi32(_mm256_mul_ps(v0, inv));
    q[1] = _mm256_cvtps_epi32(_mm256_mul_ps(v1, inv));
    q[2] = _mm256_cvtps_epi32(_mm256_mul_ps(v2, inv));
    q[3] = _mm256_cvtps_epi32(_mm256_mul_ps(v3, inv));
    return d;
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
