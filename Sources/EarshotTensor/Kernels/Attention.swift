extension Kernels {
    /// Most parallel parts `attention` splits into; it bounds the scratch independently of the thread
    /// count, so buffers sized once stay valid after `setThreadCount`.
    public static let maxAttentionParts = 16

    /// Floats of scratch `attention` needs for `lk` keys: one score row of `lk` floats per parallel part
    /// of the per-query path, or a block of score rows per part of the blocked path (`BlockedAttention`).
    public static func attentionScratchCount(lk: Int) -> Int {
        max(maxAttentionParts * max(lk, 1), blockedAttentionScratchCount(lk: lk))
    }

    /// Scaled dot-product attention with grouped KV heads.
    ///
    /// q [lq, qHeads, headDim] with `qStride` floats between tokens; k, v [lk, kvHeads, headDim] with `kvStride`;
    /// out [lq, qHeads, headDim] with `outStride` (must not overlap q, k or v). Query head i reads kv head
    /// i / (qHeads / kvHeads).
    /// - causal: query t (absolute position queryOffset + t) sees keys 0...queryOffset + t.
    /// - windows: ascending boundaries [0, w1, ..., lk] of block-diagonal windows (self-attention, lq == lk);
    ///   query t sees only keys of its own window. Combined with `causal` if both are given.
    /// A query that sees no key gets a zero output. `scratch` holds `attentionScratchCount(lk:)` floats.
    public static func attention(q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                 kvStride: Int, out: UnsafeMutablePointer<Float>, outStride: Int, lq: Int, lk: Int,
                                 qHeads: Int, kvHeads: Int, headDim: Int, scale: Float, causal: Bool, queryOffset: Int,
                                 windows: UnsafeBufferPointer<Int>?, scratch: UnsafeMutablePointer<Float>) {
        if lq <= 0 || qHeads <= 0 || headDim <= 0 { return }
        let group = max(1, qHeads / max(kvHeads, 1))
        if lq >= blockedAttentionMinRows {
            blockedAttention(q: q, qStride: qStride, k: k, v: v, kvStride: kvStride, out: out, outStride: outStride,
                             lq: lq, lk: lk, qHeads: qHeads, group: group, headDim: headDim, scale: scale, causal: causal,
                             queryOffset: queryOffset, windows: windows, scratch: scratch)
            return
        }
        // One decode query (every key visible) with grouped heads: the `group` heads sharing a KV
        // head are that head's queries, so its keys and values are read once for all of them.
        if lq == 1, group >= 2, windows == nil, !causal || queryOffset + 1 >= lk,
           fewQueryAttention(q: q, qStride: headDim, k: k, v: v, kvStride: kvStride, out: out, outStride: headDim,
                             lq: group, lk: lk, qHeads: qHeads / group, group: 1, headDim: headDim, scale: scale,
                             scratch: scratch, headStride: group * headDim) { return }
        if !causal, windows == nil,
           fewQueryAttention(q: q, qStride: qStride, k: k, v: v, kvStride: kvStride, out: out, outStride: outStride,
                             lq: lq, lk: lk, qHeads: qHeads, group: group, headDim: headDim, scale: scale,
                             scratch: scratch) { return }
        let items = qHeads * lq
        var keysPerQuery = lk
        if let windows, windows.count > 1 { keysPerQuery = max(1, lk / (windows.count - 1)) }
        let work = items * keysPerQuery * headDim
        let parts = min(items, maxAttentionParts, threadsFor(work: work, minimumPerThread: 1 << 16))

        parallelLoop(parts, AttentionLoop(q: q, qStride: qStride, k: k, v: v, kvStride: kvStride, out: out, outStride: outStride,
                                          lq: lq, lk: lk, group: group, headDim: headDim, scale: scale, causal: causal,
                                          queryOffset: queryOffset, windows: windows, scratch: scratch, items: items, parts: parts))
    }

    /// One query row against keys start..<end. Keys and values are walked four at a time so each query
    /// (or output) vector load is shared by four rows.
    @inline(__always)
    static func attendOne(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, kvStride: Int,
                          start: Int, end: Int, headDim: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
                          out: UnsafeMutablePointer<Float>) {
        let n = end - start
        let d8 = headDim & ~7
        var j = 0
        var kp = k + start * kvStride
        while j + 4 <= n {
            let k0 = kp, k1 = kp + kvStride, k2 = k1 + kvStride, k3 = k2 + kvStride
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var i = 0
            while i < d8 {
                let qv = load8(q + i)
                a0 += qv * load8(k0 + i)
                a1 += qv * load8(k1 + i)
                a2 += qv * load8(k2 + i)
                a3 += qv * load8(k3 + i)
                i += 8
            }
            var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
            while i < headDim {
                let qi = q[i]
                s0 += qi * k0[i]; s1 += qi * k1[i]; s2 += qi * k2[i]; s3 += qi * k3[i]
                i += 1
            }
            scores[j] = s0 * scale
            scores[j + 1] = s1 * scale
            scores[j + 2] = s2 * scale
            scores[j + 3] = s3 * scale
            kp += 4 * kvStride
            j += 4
        }
        while j < n {
            scores[j] = dot(q, kp, headDim) * scale
            kp += kvStride
            j += 1
        }
        softmax(scores, count: n)

        out.update(repeating: 0, count: headDim)
        var vp = v + start * kvStride
        j = 0
        while j + 4 <= n {
            let v0 = vp, v1 = vp + kvStride, v2 = v1 + kvStride, v3 = v2 + kvStride
            let p0 = scores[j], p1 = scores[j + 1], p2 = scores[j + 2], p3 = scores[j + 3]
            let b0 = SIMD8<Float>(repeating: p0), b1 = SIMD8<Float>(repeating: p1)
            let b2 = SIMD8<Float>(repeating: p2), b3 = SIMD8<Float>(repeating: p3)
            var i = 0
            while i < d8 {
                let acc = load8(out + i) + (b0 * load8(v0 + i) + b1 * load8(v1 + i)) + (b2 * load8(v2 + i) + b3 * load8(v3 + i))
                store8(acc, out + i)
                i += 8
            }
            while i < headDim {
                out[i] += (p0 * v0[i] + p1 * v1[i]) + (p2 * v2[i] + p3 * v3[i])
                i += 1
            }
            vp += 4 * kvStride
            j += 4
        }
        while j < n {
            let pj = scores[j]
            let pv = SIMD8<Float>(repeating: pj)
            var i = 0
            while i < d8 {
                store8(load8(out + i) + pv * load8(vp + i), out + i)
                i += 8
            }
            while i < headDim {
                out[i] += pj * vp[i]
                i += 1
            }
            vp += kvStride
            j += 1
        }
    }
}

/// One thread's share of `Kernels.attention`: a contiguous range of (head, query) items.
struct AttentionLoop: KernelLoop {
    let q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>, v: UnsafePointer<Float>, kvStride: Int
    let out: UnsafeMutablePointer<Float>, outStride: Int, lq: Int, lk: Int, group: Int, headDim: Int, scale: Float
    let causal: Bool, queryOffset: Int, windows: UnsafeBufferPointer<Int>?, scratch: UnsafeMutablePointer<Float>
    let items: Int, parts: Int

    func callAsFunction(_ p: Int) {
        let range = Kernels.split(items, parts: parts, index: p, align: 1)
        let scores = scratch + p * max(lk, 1)
        var window = 0
        for item in range {
            let h = item / lq
            let t = item - h * lq
            let kvh = h / group
            var start = 0
            var end = lk
            if causal { end = min(end, queryOffset + t + 1) }
            if let windows, windows.count > 1 {
                // Items arrive in increasing t within a head; restart the search when t goes back.
                if window >= windows.count - 1 || windows[window] > t { window = 0 }
                while window + 1 < windows.count - 1 && windows[window + 1] <= t { window += 1 }
                start = max(start, windows[window])
                end = min(end, windows[window + 1])
            }
            let o = out + t * outStride + h * headDim
            if end <= start {
                o.update(repeating: 0, count: headDim)
                continue
            }
            Kernels.attendOne(q: q + t * qStride + h * headDim, k: k + kvh * headDim, v: v + kvh * headDim,
                              kvStride: kvStride, start: start, end: end, headDim: headDim, scale: scale,
                              scores: scores, out: o)
        }
    }
}
