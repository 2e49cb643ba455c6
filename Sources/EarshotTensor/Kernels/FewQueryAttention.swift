import CEarshotKernels

extension Kernels {
    /// Most queries `fewQueryAttention` takes (more go to the one-query or blocked kernels).
    static let fewQueryMaxRows = 8

    /// Non-causal attention of a few queries (2...8) over shared keys and values, head by head:
    /// Whisper's beams over the window's cross-attention cache. Each key and value row is read once
    /// per head for all queries (`ek_gemm_few_rows_strided`, `ek_attention_values_few`), where the
    /// one-query kernel reads the head's keys and values once per query. Measured on the base
    /// model's 5-beam decode (1,500 keys, 8 heads of 64). Returns false (doing nothing) when the
    /// CPU or the shape does not allow it. Scratch: `lq * lk` floats per part, at most
    /// `attentionScratchCount(lk:)` in all.
    ///
    /// `headStride` (default `headDim`) is the distance between consecutive heads' queries and
    /// outputs: one decode query's grouped heads pass as the `lq` queries of their KV head with
    /// `qStride = headDim` and `headStride = group * headDim` (`attention` does this).
    static func fewQueryAttention(q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                  kvStride: Int, out: UnsafeMutablePointer<Float>, outStride: Int, lq: Int, lk: Int,
                                  qHeads: Int, group: Int, headDim: Int, scale: Float,
                                  scratch: UnsafeMutablePointer<Float>, headStride: Int? = nil) -> Bool {
        let hs = headStride ?? headDim
        #if arch(x86_64)
        guard CPUFeatures.avx2, lq >= 2, lq <= fewQueryMaxRows, lk > 0, headDim % 8 == 0 else { return false }
        let parts = max(1, min(qHeads, maxAttentionParts / lq, threadsFor(work: qHeads * lq * lk * headDim, minimumPerThread: 1 << 16)))
        parallelFor(parts) { p in
            let scores = scratch + p * lq * lk                         // [lq, lk]
            for h in split(qHeads, parts: parts, index: p, align: 1) {
                let kvh = h / group
                scores.update(repeating: 0, count: lq * lk)
                ek_gemm_f32_tiles_strided(k + kvh * headDim, Int64(kvStride), Int64(headDim), q + h * hs,
                                          Int64(qStride), Int64(lq), scores, Int64(lk), 0, Int64(lk))
                for t in 0..<lq {
                    let row = scores + t * lk
                    for j in 0..<lk { row[j] *= scale }
                    softmax(row, count: lk)
                }
                ek_attention_values_few(scores, Int64(lk), Int64(lq), v + kvh * headDim, Int64(kvStride), Int64(lk),
                                        Int64(headDim), out + h * hs, Int64(outStride))
            }
        }
        return true
        #else
        return false
        #endif
    }
}
