// AVX2/FMA/F16C kernels for quantized and bfloat16 matrix-vector products.
//
// Swift's default x86_64 target is baseline SSE2, and SwiftPM rejects per-target -march flags in
// packages used as dependencies; these functions carry __attribute__((target)) instead and are
// called only after ek_cpu_has_avx2_fma() says the CPU has the instructions. The portable paths
// live in Swift (EarshotTensor/Kernels/Quant*.swift); `earshot bench kernels` compares the two.
//
// Block layouts are ggml's, so a GGUF file's tensors are used in place:
//   q8_0: { f16 d; int8 q[32]; }            34 bytes per 32 weights, w = d * q
//   q4_1: { f16 d; f16 m; uint8 q[16]; }    20 bytes per 32 weights, w = d * q + m,
//         element j in the low nibble of q[j], element j + 16 in the high nibble.
#ifndef EARSHOT_KERNELS_H
#define EARSHOT_KERNELS_H

#include <stdint.h>

#define EK_Q8_0_BLOCK_BYTES 34
#define EK_Q4_1_BLOCK_BYTES 20
/// Widest row the quantized kernels accept.
#define EK_MAX_QUANT_COLS 65536

/// A spin-wait hint (x86 `pause`), for threads polling a flag.
static inline void ek_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/// 1 when the CPU supports AVX2, FMA and F16C (x86_64 only; 0 elsewhere).
int ek_cpu_has_avx2_fma(void);
/// 1 when the CPU also supports AVX-512 F/BW/VL/DQ and AVX-512 VNNI (gemm_vnni.c).
int ek_cpu_has_avx512_vnni(void);

/// The OpenBLAS core type matching the CPU's instructions ("SkylakeX" for AVX-512, "Haswell" for
/// AVX2 + FMA), or NULL: for OPENBLAS_CORETYPE, which OpenBLAS reads when it loads (blas_core.c).
const char *ek_openblas_coretype(void);

#if defined(__x86_64__)
/// y[r] = W[r, :] . x for r in [row_begin, row_end); W rows of cols/32 blocks; cols % 32 == 0.
void ek_q8_0_matvec_rows(const uint8_t *w, int64_t cols, const float *x, float *y, int64_t row_begin, int64_t row_end);
void ek_q4_1_matvec_rows(const uint8_t *w, int64_t cols, const float *x, float *y, int64_t row_begin, int64_t row_end);
/// y[r] = W[r, :] . x with W bfloat16 (any cols).
void ek_bf16_matvec_rows(const uint16_t *w, int64_t cols, const float *x, float *y, int64_t row_begin, int64_t row_end);
/// Dequantizes `blocks` consecutive blocks into out[blocks * 32].
void ek_q8_0_dequantize(const uint8_t *w, int64_t blocks, float *out);
void ek_q4_1_dequantize(const uint8_t *w, int64_t blocks, float *out);
/// bfloat16 -> f32, any count.
void ek_bf16_to_f32(const uint16_t *src, float *dst, int64_t count);

/// Probes (probe_avx2.c): `iterations` x 12 ymm FMAs (192 flops each iteration) on registers;
/// `iterations` x 256 int8 multiply-adds (vpmaddubsw, vpmaddwd, vpaddd) reading `buffer`
/// (`bytes`: a power of two >= 64). The results only keep the work from being optimised away.
float ek_probe_fma(int64_t iterations);
int32_t ek_probe_int8_dot(const uint8_t *buffer, int64_t bytes, int64_t iterations);
/// The same multiply-adds with vpdpbusd (AVX-512 VNNI CPUs only).
int32_t ek_probe_vnni_dot(const uint8_t *buffer, int64_t bytes, int64_t iterations);

/// AVX-512 VNNI q8_0 GEMM (gemm_vnni.c). A's rows are first quantized to int8 blocks of 32 with
/// one scale each, interleaved in groups of 8 blocks: ek_q8_vnni_row_bytes(K) bytes per row.
int64_t ek_q8_vnni_row_bytes(int64_t K);
/// Quantizes rows [row_begin, row_end) of A [rows, K] (row stride lda floats) into out.
void ek_q8_vnni_quantize_rows(const float *a, int64_t lda, int64_t K, uint8_t *out, int64_t row_begin, int64_t row_end);
/// C[m, n] += sum_k A[m, k] * W[n, k] for m < M, n in [n_begin, n_end) (a multiple of 4 apart);
/// W q8_0 [N, K], K a multiple of 32, aq the quantized A.
void ek_q8_0_gemm_vnni(const uint8_t *w, int64_t K, const uint8_t *aq, int64_t M, float *c, int64_t ldc,
                       int64_t n_begin, int64_t n_end);

/// ek_q8_0_matvec_rows on AVX-512 VNNI (decode_vnni.c; AVX-512 VNNI CPUs only): x quantized in
/// the GEMM's interleaved layout, then ek_q8_0_decode_vnni with one row.
void ek_q8_0_matvec_rows_vnni(const uint8_t *w, int64_t cols, const float *x, float *y, int64_t row_begin, int64_t row_end);
/// Bytes per activation row of the decode kernel's layout, and rows m < M of A [M, K] (row stride
/// lda floats) quantized into it (decode_vnni.c; AVX-512 VNNI CPUs only).
int64_t ek_q8_decode_row_bytes(int64_t K);
void ek_q8_decode_quantize_rows(const float *a, int64_t lda, int64_t K, uint8_t *out, int64_t M);
/// y[m * ldy + n] = sum_k A[m, k] * W[n, k] for m < M, n in [n_begin, n_end): W q8_0 [N, K] read in
/// place, A from ek_q8_decode_quantize_rows; every row's result is independent of M, so a decode
/// batch and a single sequence get bit-identical sums (decode_vnni.c; AVX-512 VNNI only).
void ek_q8_0_decode_vnni(const uint8_t *w, int64_t K, const uint8_t *aq, int64_t M, float *y, int64_t ldy,
                         int64_t n_begin, int64_t n_end);

#define EK_WEIGHT_Q8_0 0
#define EK_WEIGHT_Q4_1 1
#define EK_WEIGHT_BF16 2
#define EK_WEIGHT_F32 3
/// C[m, n] += sum_k A[m, k] * W[n, k] for m < M, n in [n_begin, n_end); W is [N, K] of the given
/// EK_WEIGHT_* type; K a multiple of 32 (of 8 for f32).
void ek_gemm_rows(int type, const void *w, int64_t K, const float *a, int64_t lda, int64_t M,
                  float *c, int64_t ldc, int64_t n_begin, int64_t n_end);
/// The same for a few rows of A (gemm_few_avx2.c): W f32 or bf16 only, K a multiple of 8, each
/// weight row read once as one stream against up to 8 rows of A at a time.
void ek_gemm_few_rows(int type, const void *w, int64_t K, const float *a, int64_t lda, int64_t M,
                      float *c, int64_t ldc, int64_t n_begin, int64_t n_end);
/// The same with W's rows `ldw` elements apart (e.g. one head's keys inside a [lk, heads * hd] cache).
void ek_gemm_few_rows_strided(int type, const void *w, int64_t ldw, int64_t K, const float *a, int64_t lda,
                              int64_t M, float *c, int64_t ldc, int64_t n_begin, int64_t n_end);
/// The f32 strided product on 3 x 4 register tiles (gemm_avx2.c), for short K (attention scores).
void ek_gemm_f32_tiles_strided(const float *w, int64_t ldw, int64_t K, const float *a, int64_t lda,
                               int64_t M, float *c, int64_t ldc, int64_t n_begin, int64_t n_end);
/// out[t * os + i] = sum_j p[t * ps + j] * v[j * vs + i] for t < lq, i < hd (hd a multiple of 8):
/// attention's weighted sum of values for a few queries sharing the values (attention_few_avx2.c).
void ek_attention_values_few(const float *p, int64_t ps, int64_t lq, const float *v, int64_t vs, int64_t lk,
                             int64_t hd, float *out, int64_t os);
#endif

#endif
