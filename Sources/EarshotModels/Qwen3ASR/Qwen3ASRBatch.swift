import EarshotTensor

/// Scratch of a decode batch: one token of each of up to `maxRows` sequences per step, every
/// sequence with its own `Qwen3ASRState` (KV cache and position). Allocated once, reused for every
/// step; the sequences' states keep everything that outlives a step.
///
/// Like a state, a batch is used by one task at a time (its owner's decode loop).
public final class Qwen3ASRBatch: @unchecked Sendable {
    // @unchecked: mutable scratch, confined to one task at a time by its owner; documented contract.
    public let maxRows: Int
    let vocab: Int
    let buffer: PageBuffer
    let x, h, q, a, k, v, gate, up, logits, attention, quant: Int
    /// Rows' attention runs on this many threads at once, each with its own attention scratch of
    /// `attentionStride` floats.
    let attentionParts: Int
    let attentionStride: Int

    init(config: Qwen3ASRConfig.TextConfig, maxRows: Int, maxTokens: Int, quantBytes: Int) throws(TensorError) {
        self.maxRows = maxRows
        vocab = config.vocabSize
        let hidden = config.hiddenSize, qWidth = config.numAttentionHeads * config.headDim
        let kvWidth = config.numKeyValueHeads * config.headDim
        var s = ScratchLayout()
        x = s.add(maxRows * hidden)                          // [n, H] residual stream
        h = s.add(maxRows * hidden)                          // [n, H] normed
        q = s.add(maxRows * qWidth)                          // [n, heads*hd]
        a = s.add(maxRows * qWidth)                          // attention output
        k = s.add(maxRows * kvWidth)                         // [n, kvHeads*hd], then each row into its cache
        v = s.add(maxRows * kvWidth)
        gate = s.add(maxRows * config.intermediateSize)      // [n, I]
        up = s.add(maxRows * config.intermediateSize)
        logits = s.add(maxRows * config.vocabSize)           // [n, V]
        attentionParts = max(1, min(maxRows, Kernels.threadCount))
        attentionStride = Kernels.attentionScratchCount(lk: maxTokens)
        attention = s.add(attentionParts * attentionStride)
        quant = s.add((quantBytes + 3) / 4)                  // the rows quantized for the batched matvec
        buffer = try PageBuffer(byteCount: s.floats * 4, owner: .scratch)
    }

    /// Row `i`'s logits `[vocab]` after `Qwen3ASRModel.stepBatch`.
    public func logits(row i: Int) -> UnsafeMutablePointer<Float> { ptr(logits) + i * vocab }

    public var mappedBytes: Int { buffer.mappedBytes }

    /// Unmaps the scratch now.
    public func close() { buffer.close() }

    @inline(__always) func ptr(_ offset: Int) -> UnsafeMutablePointer<Float> { buffer.floats() + offset }
}

extension Qwen3ASRDecoder {
    /// Bytes of quantized-row scratch a batch of `rows` needs (the widest matrix input).
    func batchQuantBytes(rows: Int) -> Int {
        (w.decoderLayers.flatMap { [$0.q, $0.k, $0.v, $0.o, $0.gate, $0.up, $0.down] } + [w.embedTokens])
            .map { $0.rowsScratchBytes(count: rows) }.max() ?? 0
    }

    /// Appends `tokens[i]` to the sequence of `states[i]`, each at its own position, in one pass
    /// over the weights; row i's logits land in `batch.logits(row: i)`. Every row is computed
    /// exactly as `step` computes it alone (the same kernels row by row, `Matrix.applyRows` for
    /// the products), so the tokens a batch picks equal the unbatched ones.
    func stepBatch(tokens: UnsafeBufferPointer<Int>, states: UnsafeBufferPointer<Qwen3ASRState>,
                   batch b: Qwen3ASRBatch) throws(ModelError) {
        let n = tokens.count
        guard n == states.count, n <= b.maxRows else {
            throw .unsupportedOption("a decode batch of \(n) tokens for \(states.count) states (at most \(b.maxRows) rows)")
        }
        for i in 0..<n {
            // Two rows on one state would write the same cache position: refused, not garbled.
            for j in 0..<i where states[j] === states[i] {
                throw .unsupportedOption("rows \(j) and \(i) of a decode batch share one state")
            }
            guard states[i].length < states[i].maxTokens else {
                throw .promptTooLong(tokens: states[i].length + 1, limit: states[i].maxTokens)
            }
            guard tokens[i] >= 0, tokens[i] < config.vocabSize else {
                throw .tokenizer("token id \(tokens[i]) is outside the vocabulary")
            }
        }
        guard n > 0 else { return }
        let c = config
        let hidden = c.hiddenSize, hd = c.headDim, heads = c.numAttentionHeads, kvHeads = c.numKeyValueHeads
        let qWidth = heads * hd, kvWidth = kvHeads * hd, inter = c.intermediateSize
        let eps = Float(c.rmsNormEps)
        let x = b.ptr(b.x), h = b.ptr(b.h), q = b.ptr(b.q), a = b.ptr(b.a), kRows = b.ptr(b.k), vRows = b.ptr(b.v)
        let gate = b.ptr(b.gate), up = b.ptr(b.up), qs = UnsafeMutableRawPointer(b.ptr(b.quant))
        for i in 0..<n { w.embedTokens.copyRow(tokens[i], into: x + i * hidden) }
        for (l, layer) in w.decoderLayers.enumerated() {
            Kernels.rmsNorm(x, into: h, rows: n, cols: hidden, weight: layer.inputNorm, eps: eps)
            layer.q.applyRows(h, count: n, into: q, scratch: qs)             // [n, heads*hd]
            layer.k.applyRows(h, count: n, into: kRows, scratch: qs)         // [n, kvHeads*hd]
            layer.v.applyRows(h, count: n, into: vRows, scratch: qs)
            Kernels.rmsNorm(q, rows: n * heads, cols: hd, weight: layer.qNorm, eps: eps)
            // Each row at its own position, the rows split across the kernel threads (one
            // parallel pass per layer instead of one per row; the attention inside runs on its
            // part's thread and scratch, with the same results: its items are independent).
            Kernels.parallelRows(n, parts: b.attentionParts) { part, range in
                let scores = b.ptr(b.attention) + part * b.attentionStride
                for i in range {
                    let s = states[i], pos = s.length
                    let kCache = s.keys(layer: l) + pos * kvWidth
                    kCache.update(from: kRows + i * kvWidth, count: kvWidth)
                    (s.values(layer: l) + pos * kvWidth).update(from: vRows + i * kvWidth, count: kvWidth)
                    Kernels.rmsNorm(kCache, rows: kvHeads, cols: hd, weight: layer.kNorm, eps: eps)
                    Kernels.rope(q + i * qWidth, tokens: 1, heads: heads, headDim: hd, startPosition: pos,
                                 theta: c.ropeTheta)
                    Kernels.rope(kCache, tokens: 1, heads: kvHeads, headDim: hd, startPosition: pos, theta: c.ropeTheta)
                    Kernels.attention(q: q + i * qWidth, qStride: qWidth, k: s.keys(layer: l), v: s.values(layer: l),
                                      kvStride: kvWidth, out: a + i * qWidth, outStride: qWidth, lq: 1, lk: pos + 1,
                                      qHeads: heads, kvHeads: kvHeads, headDim: hd, scale: 1 / Float(hd).squareRoot(),
                                      causal: true, queryOffset: pos, windows: nil, scratch: scores)
                }
            }
            layer.o.applyRows(a, count: n, into: h, scratch: qs)
            Kernels.add(x, h, count: n * hidden)
            Kernels.rmsNorm(x, into: h, rows: n, cols: hidden, weight: layer.postAttentionNorm, eps: eps)
            layer.gate.applyRows(h, count: n, into: gate, scratch: qs)       // [n, I]
            layer.up.applyRows(h, count: n, into: up, scratch: qs)
            for i in 0..<n {   // row by row: a vector loop's scalar tail must fall where it does alone
                Kernels.swiglu(gate: gate + i * inter, up: up + i * inter, out: gate + i * inter, count: inter)
            }
            layer.down.applyRows(gate, count: n, into: h, scratch: qs)
            Kernels.add(x, h, count: n * hidden)
        }
        for i in 0..<n { states[i].length += 1 }
        Kernels.rmsNorm(x, into: h, rows: n, cols: hidden, weight: w.finalNorm, eps: eps)
        w.embedTokens.applyRows(h, count: n, into: b.ptr(b.logits), scratch: qs)   // [n, V]
    }
}

extension Qwen3ASRModel {
    /// Makes the scratch of a decode batch of up to `maxRows` sequences whose states hold at most
    /// `maxTokens` positions (`makeState`'s limit).
    public func makeBatch(maxRows: Int, maxTokens: Int) throws(ModelError) -> Qwen3ASRBatch {
        guard maxRows >= 1 else { throw .unsupportedOption("a decode batch needs at least one row, not \(maxRows)") }
        let text = config.thinkerConfig.textConfig
        do {
            return try Qwen3ASRBatch(config: text, maxRows: maxRows,
                                     maxTokens: min(maxTokens, text.maxPositionEmbeddings),
                                     quantBytes: decoder.batchQuantBytes(rows: maxRows))
        } catch {
            throw .weights(error)
        }
    }

    /// One decode step of several sequences: appends `tokens[i]` to `states[i]`; row i's logits
    /// land in `batch.logits(row: i)`, equal to what `step(token:state:)` leaves alone.
    public func stepBatch(tokens: UnsafeBufferPointer<Int>, states: UnsafeBufferPointer<Qwen3ASRState>,
                          batch: Qwen3ASRBatch) throws(ModelError) {
        try decoder.stepBatch(tokens: tokens, states: states, batch: batch)
    }
}
