// Throughput probes for `earshot bench kernels`: how many multiply-adds per second one core does
// with f32 FMA and with the AVX2 int8 dot-product sequence (vpmaddubsw, vpmaddwd, vpaddd), on
// registers and an L1-resident buffer. They say what a kernel can hope for on this CPU: on cores
// whose vector units are 128 bits wide (AMD Zen 1) the int8 sequence is no faster than f32 FMA, so
// int8 GEMM cannot speed up a compute-bound prefill there.
#include "earshot_kernels.h"

#include "avx2_common.h"

#if defined(__x86_64__)

EK_TARGET float ek_probe_fma(int64_t iterations) {
    // 12 independent chains: more than FMA latency x throughput on any AVX2 core.
    __m256 a0 = _mm256_set1_ps(0.1f), a1 = _mm256_set1_ps(0.2f), a2 = _mm256_set1_ps(0.3f), a3 = _mm256_set1_ps(0.4f);
    __m256 a4 = _mm256_set1_ps(0.5f), a5 = _mm256_set1_ps(0.6f), a6 = _mm256_set1_ps(0.7f), a7 = _mm256_set1_ps(0.8f);
    __m256 a8 = _mm256_set1_ps(0.9f), a9 = _mm256_set1_ps(1.0f), a10 = _mm256_set1_ps(1.1f), a11 = _mm256_set1_ps(1.2f);
    const __m256 b = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f);
    for (int64_t i = 0; i < iterations; i++) {
        a0 = _mm256_fmadd_ps(a0, b, c); a1 = _mm256_fmadd_ps(a1, b, c); a2 = _mm256_fmadd_ps(a2, b, c);
        a3 = _mm256_fmadd_ps(a3, b, c); a4 = _mm256_fmadd_ps(a4, b, c); a5 = _mm256_fmadd_ps(a5, b, c);
        a6 = _mm256_fmadd_ps(a6, b, c); a7 = _mm256_fmadd_ps(a7, b, c); a8 = _mm256_fmadd_ps(a8, b, c);
        a9 = _mm256_fmadd_ps(a9, b, c); a10 = _mm256_fmadd_ps(a10, b, c); a11 = _mm256_fmadd_ps(a11, b, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    return ek_hsum(s);
}

EK_TARGET int32_t ek_probe_int8_dot(const uint8_t *buffer, int64_t bytes, int64_t iterations) {
    // Per iteration: 2 activation vectors from `buffer` (so nothing is hoisted) x 4 weight vectors,
    // 8 x (vpmaddubsw + vpmaddwd + vpaddd) = 256 multiply-adds into 8 int32 accumulators.
    __m256i acc[8];
    for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i w0 = _mm256_set1_epi8(3), w1 = _mm256_set1_epi8(-5), w2 = _mm256_set1_epi8(7), w3 = _mm256_set1_epi8(-9);
    const int64_t mask = bytes - 1;   // bytes: a power of two, >= 64
    for (int64_t i = 0; i < iterations; i++) {
        const __m256i *p = (const __m256i *)(buffer + ((i * 64) & mask));
        const __m256i x0 = _mm256_loadu_si256(p), x1 = _mm256_loadu_si256(p + 1);
        acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(_mm256_maddubs_epi16(x0, w0), ones));
        acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(_mm256_maddubs_epi16(x0, w1), ones));
        acc[2] = _mm256_add_epi32(acc[2], _mm256_madd_epi16(_mm256_maddubs_epi16(x0, w2), ones));
        acc[3] = _mm256_add_epi32(acc[3], _mm256_madd_epi16(_mm256_maddubs_epi16(x0, w3), ones));
        acc[4] = _mm256_add_epi32(acc[4], _mm256_madd_epi16(_mm256_maddubs_epi16(x1, w0), ones));
        acc[5] = _mm256_add_epi32(acc[5], _mm256_madd_epi16(_mm256_maddubs_epi16(x1, w1), ones));
        acc[6] = _mm256_add_epi32(acc[6], _mm256_madd_epi16(_mm256_maddubs_epi16(x1, w2), ones));
        acc[7] = _mm256_add_epi32(acc[7], _mm256_madd_epi16(_mm256_maddubs_epi16(x1, w3), ones));
    }
    __m256i s = acc[0];
    for (int j = 1; j < 8; j++) s = _mm256_add_epi32(s, acc[j]);
    return _mm256_extract_epi32(s, 0) + _mm256_extract_epi32(s, 7);
}
#endif
