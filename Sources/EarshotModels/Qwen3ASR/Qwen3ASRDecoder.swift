import EarshotTensor

/// The Qwen3 text decoder (transformers' `modeling_qwen3.py`, `Qwen3DecoderLayer`): RMSNorm (weight, not 1+weight), q/k per-head RMSNorm before
/// split-half RoPE, grouped KV heads, SwiGLU MLP, tied output head.
///
/// `prefill` runs the prompt in blocks of `state.blockRows` tokens (causal attention over the
/// cache makes blocks exact), building each block's embeddings on the fly so a 20-minute prompt
/// never needs a full embedding matrix. `step` appends one token. Both leave the logits of the
/// last position in `state.logitsPointer`.
public struct Qwen3ASRDecoder: @unchecked Sendable {
    // @unchecked: read-only views of the model's weights.
    let w: Qwen3ASRWeights
    let config: Qwen3ASRConfig.TextConfig

    /// Largest per-matrix conversion scratch a prefill block needs (the aligner's head included).
    var matrixScratch: Int {
        (w.decoderLayers.flatMap { [$0.q, $0.k, $0.o, $0.gate, $0.down] } + [w.classifier].compactMap { $0 })
            .map(\.scratchFloats).max() ?? 0
    }

    /// The forced aligner's head: its time-class logits are computed at every position holding
    /// `tokenID` (instead of the vocabulary logits of the last position).
    struct SlotHead {
        let tokenID: Int
        let head: Matrix          // [classes, H]
    }

    /// Runs `tokens` from the state's current length, replacing each `audioTokenID` row, in order,
    /// with a row of `audio` `[audioCount, hidden]`. Without `slots` the last position's logits
    /// land in `state.logitsPointer`; with them, each slot's final-norm row and time-class logits
    /// go to `visit(slot, hidden [H], logits [classes])` in order (valid only during the call).
    func prefill(tokens: [Int], audio: UnsafePointer<Float>?, audioCount: Int, audioTokenID: Int,
                 state: Qwen3ASRState, slots: SlotHead? = nil,
                 visit: (_ slot: Int, _ hidden: UnsafePointer<Float>, _ logits: UnsafePointer<Float>) -> Void = { _, _, _ in }
    ) throws(ModelError) {
        let placeholders = tokens.reduce(0) { $0 + ($1 == audioTokenID ? 1 : 0) }
        guard placeholders == audioCount else { throw .placeholderMismatch(expected: audioCount, found: placeholders) }
        guard state.length + tokens.count <= state.maxTokens else {
            throw .promptTooLong(tokens: state.length + tokens.count, limit: state.maxTokens)
        }
        for id in tokens where id < 0 || id >= config.vocabSize {
            throw .tokenizer("token id \(id) is outside the vocabulary")
        }
        let hidden = config.hiddenSize
        var audioRow = 0, start = 0, slot = 0
        while start < tokens.count {
            let rows = min(state.blockRows, tokens.count - start)
            let x = state.ptr(state.x)
            for r in 0..<rows {
                let id = tokens[start + r]
                if id == audioTokenID, let audio {
                    (x + r * hidden).update(from: audio + audioRow * hidden, count: hidden)
                    audioRow += 1
                } else {
                    w.embedTokens.copyRow(id, into: x + r * hidden)
                }
            }
            if let slots {
                forward(rows: rows, state: state, computeLogits: false)
                slot += classifySlots(tokens[start..<(start + rows)], slots: slots, firstSlot: slot, state: state,
                                      visit: visit)
            } else {
                forward(rows: rows, state: state, computeLogits: start + rows == tokens.count)
            }
            start += rows
        }
    }

    /// The final norm and the slot head over the rows of the block just run (`state.x` `[rows, H]`)
    /// whose token is the slot token, as one GEMM `[slots, H] x [classes, H]^T`; returns their count.
    private func classifySlots(_ block: ArraySlice<Int>, slots: SlotHead, firstSlot: Int, state s: Qwen3ASRState,
                               visit: (Int, UnsafePointer<Float>, UnsafePointer<Float>) -> Void) -> Int {
        let hidden = config.hiddenSize, head = slots.head, classes = head.rows
        let x = s.ptr(s.x), h = s.ptr(s.h), logits = s.logitsPointer
        var count = 0
        for (r, id) in block.enumerated() where id == slots.tokenID {
            Kernels.rmsNorm(x + r * hidden, into: h + count * hidden, rows: 1, cols: hidden, weight: w.finalNorm,
                            eps: Float(config.rmsNormEps))   // [slots, H], packed
            count += 1
        }
        guard count > 0 else { return 0 }
        head.apply(h, count: count, bias: nil, into: logits, scratch: s.ptr(s.weightScratch))   // [slots, classes]
        for j in 0..<count { visit(firstSlot + j, h + j * hidden, logits + j * classes) }
        return count
    }

    /// Appends one token and computes its logits.
    func step(token: Int, state: Qwen3ASRState) throws(ModelError) {
        guard state.length < state.maxTokens else { throw .promptTooLong(tokens: state.length + 1, limit: state.maxTokens) }
        guard token >= 0, token < config.vocabSize else { throw .tokenizer("token id \(token) is outside the vocabulary") }
        w.embedTokens.copyRow(token, into: state.ptr(state.x))
        forward(rows: 1, state: state, computeLogits: true)
    }

    /// The layers over `rows` rows already in `state.x` `[rows, hidden]`, at positions
    /// `state.length ..< state.length + rows`.
    private func forward(rows: Int, state s: Qwen3ASRState, computeLogits: Bool) {
        let c = config
        let hidden = c.hiddenSize, hd = c.headDim, heads = c.numAttentionHeads, kvHeads = c.numKeyValueHeads
        let qWidth = heads * hd, kvWidth = kvHeads * hd, inter = c.intermediateSize
        let eps = Float(c.rmsNormEps)
        let x = s.ptr(s.x), h = s.ptr(s.h), q = s.ptr(s.q), a = s.ptr(s.a)
        let gate = s.ptr(s.gate), up = s.ptr(s.up), ws = s.ptr(s.weightScratch)
        let pos = s.length
        for (l, layer) in w.decoderLayers.enumerated() {
            // Attention block.
            Kernels.rmsNorm(x, into: h, rows: rows, cols: hidden, weight: layer.inputNorm, eps: eps)
            let kCache = s.keys(layer: l) + pos * kvWidth, vCache = s.values(layer: l) + pos * kvWidth
            if rows == 1 {
                Matrix.applyRow(h, layer.q, into: q, layer.k, into: kCache, layer.v, into: vCache, scratch: ws)
            } else {
                layer.q.apply(h, count: rows, bias: nil, into: q, scratch: ws)         // [rows, heads*hd]
                layer.k.apply(h, count: rows, bias: nil, into: kCache, scratch: ws)    // [rows, kvHeads*hd] straight into the cache
                layer.v.apply(h, count: rows, bias: nil, into: vCache, scratch: ws)
            }
            Kernels.rmsNorm(q, rows: rows * heads, cols: hd, weight: layer.qNorm, eps: eps)
            Kernels.rmsNorm(kCache, rows: rows * kvHeads, cols: hd, weight: layer.kNorm, eps: eps)
            Kernels.rope(q, tokens: rows, heads: heads, headDim: hd, startPosition: pos, theta: c.ropeTheta)
            Kernels.rope(kCache, tokens: rows, heads: kvHeads, headDim: hd, startPosition: pos, theta: c.ropeTheta)
            Kernels.attention(q: q, qStride: qWidth, k: s.keys(layer: l), v: s.values(layer: l), kvStride: kvWidth,
                              out: a, outStride: qWidth, lq: rows, lk: pos + rows, qHeads: heads, kvHeads: kvHeads,
                              headDim: hd, scale: 1 / Float(hd).squareRoot(), causal: true, queryOffset: pos,
                              windows: nil, scratch: s.ptr(s.attention))
            layer.o.apply(a, count: rows, bias: nil, into: h, scratch: ws)
            Kernels.add(x, h, count: rows * hidden)
            // MLP block.
            Kernels.rmsNorm(x, into: h, rows: rows, cols: hidden, weight: layer.postAttentionNorm, eps: eps)
            if rows == 1 {
                Matrix.applyRow(h, layer.gate, into: gate, layer.up, into: up, scratch: ws)
            } else {
                layer.gate.apply(h, count: rows, bias: nil, into: gate, scratch: ws)   // [rows, I]
                layer.up.apply(h, count: rows, bias: nil, into: up, scratch: ws)
            }
            Kernels.swiglu(gate: gate, up: up, out: gate, count: rows * inter)
            layer.down.apply(gate, count: rows, bias: nil, into: h, scratch: ws)
            Kernels.add(x, h, count: rows * hidden)
        }
        s.length = pos + rows
        guard computeLogits else { return }
        // Only the last position's logits are needed: final norm and the tied head as one matvec.
        let last = x + (rows - 1) * hidden
        Kernels.rmsNorm(last, into: h, rows: 1, cols: hidden, weight: w.finalNorm, eps: eps)
        w.embedTokens.apply(h, count: 1, bias: nil, into: s.logitsPointer, scratch: ws)
    }
}
