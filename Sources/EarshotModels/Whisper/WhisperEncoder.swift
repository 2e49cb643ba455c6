import EarshotTensor

/// Whisper's audio encoder: two 1-D convolutions (k = 3, the second with stride 2) with GELU,
/// sinusoidal positions, pre-norm transformer layers and a final layer norm. One call encodes a
/// whole 30 s window (`[mels, 3000]` -> `[1500, d]`), then projects the cross-attention keys and
/// values of every decoder layer once, so each generated token only reads them.
struct WhisperEncoder {
    let w: WhisperWeights
    let dims: WhisperDimensions
    static let eps: Float = 1e-5

    func encode(_ s: WhisperState) {
        let d = dims.modelDim, a = dims.audioContext, frames = 2 * a, mels = dims.melBins
        let x = s.ptr(s.encoded)                                     // [A, d]
        // conv1 as a GEMM: columns[t, c*3 + k] = mel[c, t + k - 1] (zero outside the window).
        let mel = s.ptr(s.melWindow), cols1 = s.ptr(s.im2col1), c1 = s.ptr(s.conv1Out)
        for t in 0..<frames {
            let row = cols1 + t * mels * 3
            for c in 0..<mels {
                let src = mel + c * frames
                row[c * 3] = t > 0 ? src[t - 1] : 0
                row[c * 3 + 1] = src[t]
                row[c * 3 + 2] = t + 1 < frames ? src[t + 1] : 0
            }
        }
        Kernels.linear(cols1, rows: frames, inFeatures: mels * 3, weight: w.conv1Weight, outFeatures: d,
                       bias: w.conv1Bias, y: c1)                     // [2A, d]
        Kernels.gelu(c1, count: frames * d)
        // conv2, stride 2: columns[t, c*3 + k] = c1[2t + k - 1, c].
        let cols2 = s.ptr(s.im2col2)
        for t in 0..<a {
            let row = cols2 + t * d * 3
            for k in 0..<3 {
                let src = 2 * t + k - 1
                if src < 0 || src >= frames {
                    for c in 0..<d { row[c * 3 + k] = 0 }
                } else {
                    let from = c1 + src * d
                    for c in 0..<d { row[c * 3 + k] = from[c] }
                }
            }
        }
        Kernels.linear(cols2, rows: a, inFeatures: d * 3, weight: w.conv2Weight, outFeatures: d, bias: w.conv2Bias, y: x)
        Kernels.gelu(x, count: a * d)
        Kernels.add(x, w.encoderPositions, count: a * d)

        let h = s.ptr(s.eh), q = s.ptr(s.eq), k = s.ptr(s.ek), v = s.ptr(s.ev), att = s.ptr(s.ea), ffn = s.ptr(s.effn)
        let tiles = s.ptr(s.tiles)
        let heads = dims.encoderHeads, hd = d / heads
        for layer in w.encoderLayers {
            normed(x, into: h, rows: a, layer.attentionNorm)
            apply(layer.attention.q, h, a, q, tiles)
            apply(layer.attention.k, h, a, k, tiles)
            apply(layer.attention.v, h, a, v, tiles)
            Kernels.denseAttention(q: q, qStride: d, k: k, v: v, kvStride: d, out: att, outStride: d, lq: a, lk: a,
                                   heads: heads, headDim: hd, scale: 1 / Float(hd).squareRoot(),
                                   scratch: s.ptr(s.scores))
            apply(layer.attention.out, att, a, h, tiles)
            Kernels.add(x, h, count: a * d)
            normed(x, into: h, rows: a, layer.ffnNorm)
            apply(layer.fc1, h, a, ffn, tiles)
            Kernels.gelu(ffn, count: a * dims.ffnDim)
            apply(layer.fc2, ffn, a, h, tiles)
            Kernels.add(x, h, count: a * d)
        }
        Kernels.layerNorm(x, rows: a, cols: d, weight: w.encoderNorm.gamma, bias: w.encoderNorm.beta, eps: Self.eps)
        // Cross-attention keys and values of every decoder layer: [A, d] each.
        for (i, layer) in w.decoderLayers.enumerated() {
            apply(layer.cross.k, x, a, s.crossKeys(i), tiles)
            apply(layer.cross.v, x, a, s.crossValues(i), tiles)
        }
    }
}

/// y[rows, out] = x[rows, in] · Wᵀ + b.
@inline(__always)
func apply(_ l: WhisperLinear, _ x: UnsafePointer<Float>, _ rows: Int, _ y: UnsafeMutablePointer<Float>,
           _ tiles: UnsafeMutablePointer<Float>) {
    l.weight.apply(x, count: rows, bias: l.bias, into: y, scratch: tiles)
}

/// h = LayerNorm(x), row by row.
@inline(__always)
func normed(_ x: UnsafePointer<Float>, into h: UnsafeMutablePointer<Float>, rows: Int, _ n: WhisperNorm) {
    let cols = n.cols
    h.update(from: x, count: rows * cols)
    Kernels.layerNorm(h, rows: rows, cols: cols, weight: n.gamma, bias: n.beta, eps: WhisperEncoder.eps)
}
