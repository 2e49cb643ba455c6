import EarshotTensor

/// Whisper's text decoder: token embeddings plus learned positions, pre-norm layers of causal
/// self-attention (cached), cross-attention over the window's encoder output and a GELU MLP,
/// a final layer norm and the output head tied to the token embeddings.
///
/// Two shapes of call: `forward` appends a run of tokens to one sequence (the prompt, or greedy
/// decoding), `step` appends one token to each of several hypotheses side by side (beam search,
/// best-of sampling), so every weight matrix is read once per step for all of them.
struct WhisperDecoder {
    let w: WhisperWeights
    let dims: WhisperDimensions

    /// Sees each layer's cross-attention queries `[rows, d]` (layer index, queries, rows): word timing.
    typealias CrossQueries = (Int, UnsafePointer<Float>, Int) -> Void

    /// Appends `tokens` to the sequence in slot `slot` at the cache's current length; the last
    /// one's logits land in `s.logitsPointer`, and `s.dx` keeps every row's final residual stream
    /// `[n, d]`. The caller keeps `s.length + tokens.count <= textContext`.
    func forward(_ tokens: UnsafeBufferPointer<Int>, _ s: WhisperState, slot: Int = 0, crossQueries: CrossQueries? = nil) {
        let n = tokens.count, d = dims.modelDim, offset = s.length
        guard n > 0 else { return }
        let x = s.ptr(s.dx), h = s.ptr(s.dh), q = s.ptr(s.dq), att = s.ptr(s.da)
        let tiles = s.ptr(s.tiles), scores = s.ptr(s.attention)
        for (i, token) in tokens.enumerated() {                      // x[n, d] = E[token] + P[position]
            w.tokenEmbedding.copyRow(token, into: x + i * d)
            Kernels.add(x + i * d, w.decoderPositions + (offset + i) * d, count: d)
        }
        let heads = dims.decoderHeads, hd = d / heads, scale = 1 / Float(hd).squareRoot()
        for (l, layer) in w.decoderLayers.enumerated() {
            // Causal self-attention; this run's keys and values go straight into the cache rows.
            normed(x, into: h, rows: n, layer.selfNorm)
            apply(layer.selfAttention.q, h, n, q, tiles)
            apply(layer.selfAttention.k, h, n, s.selfKeys(l, slot: slot) + offset * d, tiles)
            apply(layer.selfAttention.v, h, n, s.selfValues(l, slot: slot) + offset * d, tiles)
            Kernels.attention(q: q, qStride: d, k: s.selfKeys(l, slot: slot), v: s.selfValues(l, slot: slot),
                              kvStride: d, out: att, outStride: d, lq: n, lk: offset + n, qHeads: heads,
                              kvHeads: heads, headDim: hd, scale: scale, causal: true, queryOffset: offset,
                              windows: nil, scratch: scores)
            apply(layer.selfAttention.out, att, n, h, tiles)
            Kernels.add(x, h, count: n * d)
            crossAndMLP(layer, l, x: x, rows: n, s, crossQueries: crossQueries)
        }
        s.length = offset + n
        // Only the last position's logits are needed: [vocab] = E · LayerNorm(x[n-1]).
        normed(x + (n - 1) * d, into: h, rows: 1, w.decoderNorm)
        w.tokenEmbedding.apply(h, count: 1, bias: nil, into: s.logitsPointer, scratch: tiles)
    }

    /// Appends `tokens[i]` to the hypothesis in slot `slots[i]`, every one at position `s.length`
    /// (hypotheses decoded side by side all have the same length); row i's logits land in
    /// `s.logits(row: i)`. The caller keeps `s.length < textContext` and `tokens.count <= s.slots`.
    func step(_ tokens: UnsafeBufferPointer<Int>, slots: UnsafeBufferPointer<Int>, _ s: WhisperState) {
        let n = tokens.count, d = dims.modelDim, offset = s.length
        guard n > 0 else { return }
        let x = s.ptr(s.dx), h = s.ptr(s.dh), q = s.ptr(s.dq), att = s.ptr(s.da), ffn = s.ptr(s.dffn)
        let tiles = s.ptr(s.tiles), scores = s.ptr(s.attention)
        for (i, token) in tokens.enumerated() {                      // x[n, d] = E[token] + P[offset]
            w.tokenEmbedding.copyRow(token, into: x + i * d)
            Kernels.add(x + i * d, w.decoderPositions + offset * d, count: d)
        }
        let heads = dims.decoderHeads, hd = d / heads, scale = 1 / Float(hd).squareRoot()
        for (l, layer) in w.decoderLayers.enumerated() {
            normed(x, into: h, rows: n, layer.selfNorm)
            apply(layer.selfAttention.q, h, n, q, tiles)
            // Keys [n, d] into `att`, values [n, d] into `ffn` (both free until used below), then
            // each row into its own slot's cache at `offset`.
            apply(layer.selfAttention.k, h, n, att, tiles)
            apply(layer.selfAttention.v, h, n, ffn, tiles)
            for i in 0..<n {
                (s.selfKeys(l, slot: slots[i]) + offset * d).update(from: att + i * d, count: d)
                (s.selfValues(l, slot: slots[i]) + offset * d).update(from: ffn + i * d, count: d)
            }
            for i in 0..<n {                                          // each row over its own history
                Kernels.attention(q: q + i * d, qStride: d, k: s.selfKeys(l, slot: slots[i]),
                                  v: s.selfValues(l, slot: slots[i]), kvStride: d, out: att + i * d, outStride: d,
                                  lq: 1, lk: offset + 1, qHeads: heads, kvHeads: heads, headDim: hd, scale: scale,
                                  causal: true, queryOffset: offset, windows: nil, scratch: scores)
            }
            apply(layer.selfAttention.out, att, n, h, tiles)
            Kernels.add(x, h, count: n * d)
            crossAndMLP(layer, l, x: x, rows: n, s)
        }
        s.length = offset + 1
        normed(x, into: h, rows: n, w.decoderNorm)                   // [n, vocab] = E · LayerNorm(x)
        w.tokenEmbedding.apply(h, count: n, bias: nil, into: s.logitsPointer, scratch: tiles)
    }

    /// Cross-attention over the window's `[A, d]` keys and values (shared by every row), then the
    /// MLP; both added into the residual stream `x [rows, d]`.
    private func crossAndMLP(_ layer: WhisperDecoderLayer, _ l: Int, x: UnsafeMutablePointer<Float>, rows n: Int,
                             _ s: WhisperState, crossQueries: CrossQueries? = nil) {
        let d = dims.modelDim, heads = dims.decoderHeads, hd = d / heads, scale = 1 / Float(hd).squareRoot()
        let h = s.ptr(s.dh), q = s.ptr(s.dq), att = s.ptr(s.da), ffn = s.ptr(s.dffn)
        let tiles = s.ptr(s.tiles), scores = s.ptr(s.attention)
        normed(x, into: h, rows: n, layer.crossNorm)
        apply(layer.cross.q, h, n, q, tiles)
        crossQueries?(l, q, n)
        Kernels.attention(q: q, qStride: d, k: s.crossKeys(l), v: s.crossValues(l), kvStride: d, out: att,
                          outStride: d, lq: n, lk: dims.audioContext, qHeads: heads, kvHeads: heads, headDim: hd,
                          scale: scale, causal: false, queryOffset: 0, windows: nil, scratch: scores)
        apply(layer.cross.out, att, n, h, tiles)
        Kernels.add(x, h, count: n * d)
        normed(x, into: h, rows: n, layer.ffnNorm)
        apply(layer.fc1, h, n, ffn, tiles)
        Kernels.gelu(ffn, count: n * dims.ffnDim)
        apply(layer.fc2, ffn, n, h, tiles)
        Kernels.add(x, h, count: n * d)
    }
}
