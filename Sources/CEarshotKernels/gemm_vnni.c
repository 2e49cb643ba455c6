#include "earshot_kernels.h"

#include "avx2_common.h"

#if defined(__x86_64__)

// q8_0 GEMM on AVX-512 VNNI (vpdpbusd): C[m, n] += sum_k A[m, k] * W[n, k], A quantized to int8
// blocks of 32 with one scale per block (as the decode kernels and ggml quantize activations).
//
// Why this layout: vpdpbusd multiplies 4 byte pairs per 32-bit lane and adds them into the lane,
// 32 multiply-adds per 256-bit instruction against 8 for an f32 FMA. The cost is the per-block
// scale: a block's integer sum must become a float and be multiplied by d_a * d_w before blocks
// can be added. Reducing every block's 8 lanes to one number would eat the gain, so both A and
// the weights are interleaved in groups of 8 blocks (256 values): lane j of a 32-byte vector holds
// 4 consecutive values of block j, and the 8 vectors of a group cover 4 values of each block at a
// time. After 8 vpdpbusd, lane j holds block j's whole dot product: one conversion, one scale
// multiply and one FMA then finish 8 blocks at once (256 multiply-adds in 11 instructions).
//
// vpdpbusd multiplies unsigned by signed bytes: A is stored as q + 128 (1...255) and each lane
// starts from -128 * (the sum of the weight bytes it meets), which the weight panel carries.
//
// Interleaved A, one row: ek_q8_vnni_row_bytes(K) bytes = groups x (256 bytes of values +
// 8 float scales); values of block j, element e at (e / 4) * 32 + j * 4 + e % 4 in its group;
// blocks past K/32 hold 128 (zero) with scale 0.

#define EK_VNNI_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni,avx512dq")))
#define EK_VNNI_GROUP 256           // values per group: 8 blocks of 32
#define EK_VNNI_GROUP_BYTES (EK_VNNI_GROUP + 8 * 4)
#define EK_VNNI_KC 2048             // values per panel pass (8 groups; a panel of 4 rows is 9 KB)
#define EK_VNNI_MC 126              // rows of A per pass over the panels (kept in L2)
#define EK_VNNI_NR 4
#define EK_VNNI_MR 3

int ek_cpu_has_avx512_vnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni") && ek_cpu_has_avx2_fma();
}

int64_t ek_q8_vnni_row_bytes(int64_t K) {
    return (K / 32 + 7) / 8 * EK_VNNI_GROUP_BYTES;
}

// The byte offset of element e of block j in an interleaved group.
static inline int ek_vnni_offset(int j, int e) { return (e >> 2) * 32 + j * 4 + (e & 3); }

EK_VNNI_TARGET void ek_q8_vnni_quantize_rows(const float *a, int64_t lda, int64_t K, uint8_t *out,
                                            int64_t row_begin, int64_t row_end) {
    const int64_t nb = K / 32, groups = (nb + 7) / 8, row_bytes = groups * EK_VNNI_GROUP_BYTES;
    for (int64_t r = row_begin; r < row_end; r++) {
        const float *x = a + r * lda;
        uint8_t *row = out + r * row_bytes;
        for (int64_t g = 0; g < groups; g++) {
            uint8_t *vals = row + g * EK_VNNI_GROUP_BYTES;
            float *scales = (float *)(vals + EK_VNNI_GROUP);
            for (int j = 0; j < 8; j++) {
                const int64_t b = g * 8 + j;
                if (b >= nb) {
                    for (int e = 0; e < 32; e++) vals[ek_vnni_offset(j, e)] = 128;
                    scales[j] = 0;
                    continue;
                }
                // Round as every activation quantizer here (ek_quantize_block32), then + 128 and
                // one 32-bit lane (4 values) to each of the 8 rows of the group.
                const __m256i bias = _mm256_set1_epi32(128);
                __m256i q[4];
                scales[j] = ek_quantize_block32(x + b * 32, q);
                for (int t = 0; t < 4; t++) q[t] = _mm256_add_epi32(q[t], bias);
                for (int t = 0; t < 4; t++) {
                    // 8 int32 (1...255) -> 8 bytes: elements 8t ... 8t + 7 of the block.
                    const __m128i bytes = _mm256_cvtepi32_epi8(q[t]);
                    uint32_t lo = (uint32_t)_mm_cvtsi128_si32(bytes), hi = (uint32_t)_mm_extract_epi32(bytes, 1);
                    memcpy(vals + (2 * t) * 32 + j * 4, &lo, 4);
                    memcpy(vals + (2 * t + 1) * 32 + j * 4, &hi, 4);
                }
            }
        }
    }
}

// One weight row's panel part for a group: 256 interleaved int8 values, 8 scales, 8 lane starts.
typedef struct {
    int8_t vals[EK_VNNI_GROUP];
    float scales[8];
    int32_t start[8];
} ek_vnni_wgroup;

// Packs groups [g0, g0 + count) of q8_0 weight row n: each group's 8 blocks are an 8 x 8 transpose
// of 32-bit words (block j's word s goes to vector s, lane j); the lane starts come from the same
// vectors (vpdpbusd with 128 in every unsigned byte sums 4 bytes per lane, times 128).
EK_VNNI_TARGET static void ek_vnni_pack_row(const uint8_t *w, int64_t nb, int64_t n, int64_t g0, int64_t count,
                                            ek_vnni_wgroup *out) {
    const uint8_t *row = w + n * nb * EK_Q8_0_BLOCK_BYTES;
    const __m256i k128 = _mm256_set1_epi8((char)0x80);
    for (int64_t g = 0; g < count; g++) {
        ek_vnni_wgroup *p = out + g;
        __m256i v[8];
        for (int j = 0; j < 8; j++) {
            const int64_t b = (g0 + g) * 8 + j;
            if (b >= nb) {
                v[j] = _mm256_setzero_si256();
                p->scales[j] = 0;
                continue;
            }
            const uint8_t *blk = row + b * EK_Q8_0_BLOCK_BYTES;
            p->scales[j] = ek_half(blk);
            v[j] = _mm256_loadu_si256((const __m256i *)(blk + 2));
        }
        // 8 x 8 transpose of 32-bit words.
        const __m256i t0 = _mm256_unpacklo_epi32(v[0], v[1]), t1 = _mm256_unpackhi_epi32(v[0], v[1]);
        const __m256i t2 = _mm256_unpacklo_epi32(v[2], v[3]), t3 = _mm256_unpackhi_epi32(v[2], v[3]);
        const __m256i t4 = _mm256_unpacklo_epi32(v[4], v[5]), t5 = _mm256_unpackhi_epi32(v[4], v[5]);
        const __m256i t6 = _mm256_unpacklo_epi32(v[6], v[7]), t7 = _mm256_unpackhi_epi32(v[6], v[7]);
        const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
        const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
        const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
        const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
        const __m256i r[8] = {
            _mm256_permute2x128_si256(u0, u4, 0x20), _mm256_permute2x128_si256(u1, u5, 0x20),
            _mm256_permute2x128_si256(u2, u6, 0x20), _mm256_permute2x128_si256(u3, u7, 0x20),
            _mm256_permute2x128_si256(u0, u4, 0x31), _mm256_permute2x128_si256(u1, u5, 0x31),
            _mm256_permute2x128_si256(u2, u6, 0x31), _mm256_permute2x128_si256(u3, u7, 0x31),
        };
        __m256i sum = _mm256_setzero_si256();
        for (int s = 0; s < 8; s++) {
            _mm256_store_si256((__m256i *)(p->vals + s * 32), r[s]);
            sum = _mm256_dpbusd_epi32(sum, k128, r[s]);
        }
        _mm256_store_si256((__m256i *)p->start, _mm256_sub_epi32(_mm256_setzero_si256(), sum));
    }
}

// c[0..4) += the lane sums of v0..v3.
EK_VNNI_TARGET static inline void ek_vnni_add_hsum4(float *c, __m256 v0, __m256 v1, __m256 v2, __m256 v3) {
    const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
    const __m128 t = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    _mm_storeu_ps(c, _mm_add_ps(_mm_loadu_ps(c), t));
}

#define EK_DP(acc, a, w) acc = _mm256_dpbusd_epi32(acc, a, w)
#define EK_FINISH(acc, isum, xs, ws) acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(xs, ws), acc)

// A 3 x 4 tile over `groups` groups: a rows from the interleaved A (mr of them), p the 4 packed rows.
EK_VNNI_TARGET static inline void ek_vnni_tile(const uint8_t *a, int64_t row_bytes, int mr, const ek_vnni_wgroup *p,
                                               int64_t stride, int64_t groups, float *c, int64_t ldc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c02 = _mm256_setzero_ps(), c03 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps(), c12 = _mm256_setzero_ps(), c13 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c22 = _mm256_setzero_ps(), c23 = _mm256_setzero_ps();
    const uint8_t *a0 = a, *a1 = a + (mr > 1 ? row_bytes : 0), *a2 = a + (mr > 2 ? 2 * row_bytes : 0);
    const ek_vnni_wgroup *p0 = p, *p1 = p + stride, *p2 = p + 2 * stride, *p3 = p + 3 * stride;
    for (int64_t g = 0; g < groups; g++) {
        const int64_t off = g * EK_VNNI_GROUP_BYTES;
        const __m256i s0 = _mm256_load_si256((const __m256i *)p0[g].start), s1 = _mm256_load_si256((const __m256i *)p1[g].start);
        const __m256i s2 = _mm256_load_si256((const __m256i *)p2[g].start), s3 = _mm256_load_si256((const __m256i *)p3[g].start);
        __m256i i00 = s0, i01 = s1, i02 = s2, i03 = s3;
        __m256i i10 = s0, i11 = s1, i12 = s2, i13 = s3;
        __m256i i20 = s0, i21 = s1, i22 = s2, i23 = s3;
        for (int s = 0; s < 8; s++) {
            const __m256i x0 = _mm256_loadu_si256((const __m256i *)(a0 + off + s * 32));
            const __m256i x1 = _mm256_loadu_si256((const __m256i *)(a1 + off + s * 32));
            const __m256i x2 = _mm256_loadu_si256((const __m256i *)(a2 + off + s * 32));
            __m256i w = _mm256_load_si256((const __m256i *)(p0[g].vals + s * 32));
            EK_DP(i00, x0, w); EK_DP(i10, x1, w); EK_DP(i20, x2, w);
            w = _mm256_load_si256((const __m256i *)(p1[g].vals + s * 32));
            EK_DP(i01, x0, w); EK_DP(i11, x1, w); EK_DP(i21, x2, w);
            w = _mm256_load_si256((const __m256i *)(p2[g].vals + s * 32));
            EK_DP(i02, x0, w); EK_DP(i12, x1, w); EK_DP(i22, x2, w);
            w = _mm256_load_si256((const __m256i *)(p3[g].vals + s * 32));
            EK_DP(i03, x0, w); EK_DP(i13, x1, w); EK_DP(i23, x2, w);
        }
        const __m256 x0s = _mm256_loadu_ps((const float *)(a0 + off + EK_VNNI_GROUP));
        const __m256 x1s = _mm256_loadu_ps((const float *)(a1 + off + EK_VNNI_GROUP));
        const __m256 x2s = _mm256_loadu_ps((const float *)(a2 + off + EK_VNNI_GROUP));
        __m256 ws = _mm256_load_ps(p0[g].scales);
        EK_FINISH(c00, i00, x0s, ws); EK_FINISH(c10, i10, x1s, ws); EK_FINISH(c20, i20, x2s, ws);
        ws = _mm256_load_ps(p1[g].scales);
        EK_FINISH(c01, i01, x0s, ws); EK_FINISH(c11, i11, x1s, ws); EK_FINISH(c21, i21, x2s, ws);
        ws = _mm256_load_ps(p2[g].scales);
        EK_FINISH(c02, i02, x0s, ws); EK_FINISH(c12, i12, x1s, ws); EK_FINISH(c22, i22, x2s, ws);
        ws = _mm256_load_ps(p3[g].scales);
        EK_FINISH(c03, i03, x0s, ws); EK_FINISH(c13, i13, x1s, ws); EK_FINISH(c23, i23, x2s, ws);
    }
    ek_vnni_add_hsum4(c, c00, c01, c02, c03);
    if (mr > 1) ek_vnni_add_hsum4(c + ldc, c10, c11, c12, c13);
    if (mr > 2) ek_vnni_add_hsum4(c + 2 * ldc, c20, c21, c22, c23);
}

EK_VNNI_TARGET void ek_q8_0_gemm_vnni(const uint8_t *w, int64_t K, const uint8_t *aq, int64_t M,
                                     float *c, int64_t ldc, int64_t n_begin, int64_t n_end) {
    enum { KG = EK_VNNI_KC / EK_VNNI_GROUP };
    ek_vnni_wgroup panel[EK_VNNI_NR * KG] __attribute__((aligned(32)));
    const int64_t nb = K / 32, groups = (nb + 7) / 8, row_bytes = groups * EK_VNNI_GROUP_BYTES;
    for (int64_t g0 = 0; g0 < groups; g0 += KG) {
        const int64_t gc = groups - g0 < KG ? groups - g0 : KG;
        for (int64_t m0 = 0; m0 < M; m0 += EK_VNNI_MC) {
            const int64_t m1 = M - m0 < EK_VNNI_MC ? M : m0 + EK_VNNI_MC;
            for (int64_t n = n_begin; n < n_end; n += EK_VNNI_NR) {
                for (int j = 0; j < EK_VNNI_NR; j++) ek_vnni_pack_row(w, nb, n + j, g0, gc, panel + j * KG);
                for (int64_t m = m0; m < m1; m += EK_VNNI_MR) {
                    const int mr = m1 - m < EK_VNNI_MR ? (int)(m1 - m) : EK_VNNI_MR;
                    ek_vnni_tile(aq + m * row_bytes + g0 * EK_VNNI_GROUP_BYTES, row_bytes, mr, panel, KG, gc,
                                 c + m * ldc + n, ldc);
                }
            }
        }
    }
}

EK_VNNI_TARGET int32_t ek_probe_vnni_dot(const uint8_t *buffer, int64_t bytes, int64_t iterations) {
    // As ek_probe_int8_dot (probe_avx2.c), with one vpdpbusd for its three instructions:
    // 8 x 32 = 256 multiply-adds per iteration into 8 int32 accumulators.
    __m256i acc[8];
    for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_si256();
    const __m256i w0 = _mm256_set1_epi8(3), w1 = _mm256_set1_epi8(-5), w2 = _mm256_set1_epi8(7), w3 = _mm256_set1_epi8(-9);
    const int64_t mask = bytes - 1;
    for (int64_t i = 0; i < iterations; i++) {
        const __m256i *p = (const __m256i *)(buffer + ((i * 64) & mask));
        const __m256i x0 = _mm256_loadu_si256(p), x1 = _mm256_loadu_si256(p + 1);
        acc[0] = _mm256_dpbusd_epi32(acc[0], x0, w0); acc[1] = _mm256_dpbusd_epi32(acc[1], x0, w1);
        acc[2] = _mm256_dpbusd_epi32(acc[2], x0, w2); acc[3] = _mm256_dpbusd_epi32(acc[3], x0, w3);
        acc[4] = _mm256_dpbusd_epi32(acc[4], x1, w0); acc[5] = _mm256_dpbusd_epi32(acc[5], x1, w1);
        acc[6] = _mm256_dpbusd_epi32(acc[6], x1, w2); acc[7] = _mm256_dpbusd_epi32(acc[7], x1, w3);
    }
    __m256i s = acc[0];
    for (int j = 1; j < 8; j++) s = _mm256_add_epi32(s, acc[j]);
    return _mm256_extract_epi32(s, 0) + _mm256_extract_epi32(s, 7);
}

#else
int ek_cpu_has_avx512_vnni(void) { return 0; }
#endif
