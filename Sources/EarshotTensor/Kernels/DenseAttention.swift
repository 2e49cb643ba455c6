extension Kernels {
    /// Floats of scratch `denseAttention` needs: one `[lq, lk]` score matrix (reused per head).
    public static func denseAttentionScratchCount(lq: Int, lk: Int) -> Int { max(lq, 1) * max(lk, 1) }

    /// Full (non-causal) multi-head attention through the system BLAS, for long sequences such as
    /// Whisper's 1500 encoder positions: per head, S = scale · Q·Kᵀ `[lq, lk]`, row softmax, O = S·V.
    /// Two sgemm calls per head replace lq·lk dot products of `headDim` (measured on the tiny.en
    /// encoder: the dot-product kernel took 56% of a transcription).
    ///
    /// q `[lq, heads, headDim]` with `qStride` floats per token; k, v `[lk, heads, headDim]` with
    /// `kvStride`; out `[lq, heads, headDim]` with `outStride`. `scratch` holds
    /// `denseAttentionScratchCount(lq:lk:)` floats.
    public static func denseAttention(q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>,
                                      v: UnsafePointer<Float>, kvStride: Int, out: UnsafeMutablePointer<Float>,
                                      outStride: Int, lq: Int, lk: Int, heads: Int, headDim: Int, scale: Float,
                                      scratch: UnsafeMutablePointer<Float>) {
        guard lq > 0, lk > 0, heads > 0, headDim > 0 else { return }
        for h in 0..<heads {
            let off = h * headDim
            gemm(transB: true, m: lq, n: lk, k: headDim, alpha: scale, a: q + off, lda: qStride,
                 b: k + off, ldb: kvStride, c: scratch, ldc: lk)
            let parts = threadsFor(work: lq * lk, minimumPerThread: 1 << 16)
            parallelRows(lq, parts: parts) { _, rows in
                for r in rows { softmax(scratch + r * lk, count: lk) }
            }
            gemm(m: lq, n: headDim, k: lk, a: scratch, lda: lk, b: v + off, ldb: kvStride, c: out + off, ldc: outStride)
        }
    }
}
