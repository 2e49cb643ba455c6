import EarshotTensor

/// Whisper's text decoder: token embeddings plus learned positions, pre-norm layers of causal
/// self-attention (cached), cross-attention over the window's encoder output and a GELU MLP,
/// a final layer norm and the output head tied to the token embeddings.
struct WhisperDecoder {
    let w: WhisperWeights
    let dims: WhisperDimensions

    /// Appends `tokens` at the cache's current length; the last one's logits land in
    /// `s.logitsPointer`. The caller keeps `s.length + tokens.count <= textContext`.
    func forward(_ tokens: UnsafeBufferPointer<Int>, _ s: WhisperState) {
        let n = tokens.count, d = dims.modelDim, offset = s.length
        guard n > 0 else { return }
        let x = s.ptr(s.dx), h = s.ptr(s.dh), q = s.ptr(s.dq), att = s.ptr(s.da), ffn = s.ptr(s.dffn)
        let tiles = s.ptr(s.tiles), scores = s.ptr(s.attention)
        for (i, token) in tokens.enumerated() {                      // x[n, d] = E[token] + P[position]
            w.tokenEmbedding.copyRow(token, into: x + i * d)
            Kernels.add(x + i * d, w.decoderPositions + (offset + i) * d, count: d)
        }
        let heads = dims.decoderHeads, hd = d / heads, scale = 1 / Float(hd).squareRoot()
        for (l, layer) in w.decoderLayers.enumerated() {
            // Causal self-attention; this step's keys and values go straight into the cache rows.
            normed(x, into: h, rows: n, layer.selfNorm)
            apply(layer.selfAttention.q, h, n, q, tiles)
            apply(layer.selfAttention.k, h, n, s.selfKeys(l) + offset * d, tiles)
            apply(layer.selfAttention.v, h, n, s.selfValues(l) + offset * d, tiles)
            Kernels.attention(q: q, qStride: d, k: s.selfKeys(l), v: s.selfValues(l), kvStride: d, out: att,
                              outStride: d, lq: n, lk: offset + n, qHeads: heads, kvHeads: heads, headDim: hd,
                              scale: scale, causal: true, queryOffset: offset, windows: nil, scratch: scores)
            apply(layer.selfAttention.out, att, n, h, tiles)
            Kernels.add(x, h, count: n * d)
            // Cross-attention over the window's [A, d] keys and values.
            normed(x, into: h, rows: n, layer.crossNorm)
            apply(layer.cross.q, h, n, q, tiles)
            Kernels.attention(q: q, qStride: d, k: s.crossKeys(l), v: s.crossValues(l), kvStride: d, out: att,
                              outStride: d, lq: n, lk: dims.audioContext, qHeads: heads, kvHeads: heads, headDim: hd,
                              scale: scale, causal: false, queryOffset: 0, windows: nil, scratch: scores)
            apply(layer.cross.out, att, n, h, tiles)
            Kernels.add(x, h, count: n * d)
            // MLP.
            normed(x, into: h, rows: n, layer.ffnNorm)
            apply(layer.fc1, h, n, ffn, tiles)
            Kernels.gelu(ffn, count: n * dims.ffnDim)
            apply(layer.fc2, ffn, n, h, tiles)
            Kernels.add(x, h, count: n * d)
        }
        s.length = offset + n
        // Only the last position's logits are needed: [vocab] = E · LayerNorm(x[n-1]).
        normed(x + (n - 1) * d, into: h, rows: 1, w.decoderNorm)
        w.tokenEmbedding.apply(h, count: 1, bias: nil, into: s.logitsPointer, scratch: tiles)
    }
}
