import EarshotTensor

/// How a Whisper checkpoint names its tensors.
public enum WhisperLayout: String, Sendable {
    /// CTranslate2 `model.bin` (faster-whisper): fused q/k/v `[3d, d]` and cross-attention k/v `[2d, d]`.
    case ctranslate2
    /// Hugging Face `openai/whisper-*` safetensors: separate projections, `model.encoder.*`.
    case huggingFace
}

/// y = x · Wᵀ + b. `bias` is nil where Whisper has none (key projections, Hugging Face layout).
struct WhisperLinear {
    let weight: Matrix
    let bias: UnsafePointer<Float>?
}

struct WhisperNorm {
    let gamma: UnsafePointer<Float>   // [d]
    let beta: UnsafePointer<Float>    // [d]
    let cols: Int
}

struct WhisperAttention {
    let q: WhisperLinear, k: WhisperLinear, v: WhisperLinear, out: WhisperLinear
}

struct WhisperEncoderLayer {
    let attentionNorm: WhisperNorm
    let attention: WhisperAttention
    let ffnNorm: WhisperNorm
    let fc1: WhisperLinear, fc2: WhisperLinear
}

struct WhisperDecoderLayer {
    let selfNorm: WhisperNorm
    let selfAttention: WhisperAttention
    let crossNorm: WhisperNorm
    let cross: WhisperAttention
    let ffnNorm: WhisperNorm
    let fc1: WhisperLinear, fc2: WhisperLinear
}

/// Views into a `WeightStore` holding a Whisper checkpoint of either layout.
struct WhisperWeights {
    let conv1Weight: UnsafePointer<Float>     // [d, mels * 3] (PyTorch [d, mels, 3] flattened)
    let conv1Bias: UnsafePointer<Float>       // [d]
    let conv2Weight: UnsafePointer<Float>     // [d, d * 3]
    let conv2Bias: UnsafePointer<Float>
    let encoderPositions: UnsafePointer<Float> // [audioContext, d] sinusoids
    let encoderLayers: [WhisperEncoderLayer]
    let encoderNorm: WhisperNorm
    let tokenEmbedding: Matrix                 // [vocab, d], also the output head (tied)
    let decoderPositions: UnsafePointer<Float> // [textContext, d] learned
    let decoderLayers: [WhisperDecoderLayer]
    let decoderNorm: WhisperNorm

    /// Every tensor the layout must hold, with its shape and kind.
    static func table(_ dims: WhisperDimensions, layout: WhisperLayout) -> WeightTable {
        let d = dims.modelDim, f = dims.ffnDim
        let n = WhisperNames(layout: layout)
        var t = WeightTable()
        t.small(n.conv(1, "weight"), [d, dims.melBins, 3]); t.small(n.conv(1, "bias"), [d])
        t.small(n.conv(2, "weight"), [d, d, 3]); t.small(n.conv(2, "bias"), [d])
        t.small(n.encoderPositions, [dims.audioContext, d])
        func norm(_ prefix: String) { t.small(n.gamma(prefix), [d]); t.small(n.beta(prefix), [d]) }
        // q8/q4 quantize every linear layer, as CTranslate2's int8 does: the decoder's per-token
        // matrices and the tied head (memory bound: fewer bytes per token), and the encoder's and the
        // cross-attention key/value projections, applied to 1,500 rows at once (compute bound: the
        // q8_0 GEMM on AVX-512 VNNI runs ~3x sgemm, the AVX2 panel about as fast as sgemm).
        func linear(_ name: String, _ rows: Int, _ cols: Int, bias: Bool = true) {
            t.quantizable(name + n.weight, [rows, cols])
            if bias { t.small(name + n.bias, [rows]) }
            if layout == .ctranslate2 { t.allow(name + n.weight + "_scale", [rows]) }   // int8 files
        }
        func attention(_ a: WhisperNames.Attention) {
            norm(a.norm)
            switch a.projections {
            case .fused(let qkv, let out): linear(qkv, 3 * d, d); linear(out, d, d)
            case .crossFused(let q, let kv, let out):
                linear(q, d, d); linear(kv, 2 * d, d); linear(out, d, d)
            case .separate(let q, let k, let v, let out):
                linear(q, d, d); linear(k, d, d, bias: false); linear(v, d, d)
                linear(out, d, d)
            }
        }
        for i in 0..<dims.encoderLayers {
            attention(n.encoderSelf(i))
            norm(n.ffnNorm(.encoder, i)); linear(n.fc(.encoder, i, 1), f, d); linear(n.fc(.encoder, i, 2), d, f)
        }
        norm(n.finalNorm(.encoder))
        t.quantizable(n.tokenEmbedding, [dims.vocabSize, d])
        if layout == .ctranslate2 { t.allow(n.tokenEmbedding + "_scale", [dims.vocabSize]) }
        if layout == .huggingFace { t.allow("proj_out.weight", [dims.vocabSize, d]) }   // tied copy when saved
        t.small(n.decoderPositions, [dims.textContext, d])
        for i in 0..<dims.decoderLayers {
            attention(n.decoderSelf(i))
            attention(n.decoderCross(i))
            norm(n.ffnNorm(.decoder, i)); linear(n.fc(.decoder, i, 1), f, d); linear(n.fc(.decoder, i, 2), d, f)
        }
        norm(n.finalNorm(.decoder))
        return t
    }

    init(store: WeightStore, dims: WhisperDimensions, layout: WhisperLayout) {
        let d = dims.modelDim
        let n = WhisperNames(layout: layout)
        func norm(_ prefix: String) -> WhisperNorm {
            WhisperNorm(gamma: store.floats(n.gamma(prefix)), beta: store.floats(n.beta(prefix)), cols: d)
        }
        func linear(_ name: String, bias: Bool = true) -> WhisperLinear {
            WhisperLinear(weight: store.matrix(name + n.weight), bias: bias ? store.floats(name + n.bias) : nil)
        }
        /// Rows `part` (of `d` each) of a fused projection, with the matching bias slice.
        func slice(_ name: String, _ part: Int) -> WhisperLinear {
            WhisperLinear(weight: store.matrix(name + n.weight).rows(part * d..<(part + 1) * d),
                          bias: store.floats(name + n.bias) + part * d)
        }
        func attention(_ a: WhisperNames.Attention) -> (WhisperNorm, WhisperAttention) {
            let projections: WhisperAttention
            switch a.projections {
            case .fused(let qkv, let out):
                projections = WhisperAttention(q: slice(qkv, 0), k: slice(qkv, 1), v: slice(qkv, 2), out: linear(out))
            case .crossFused(let q, let kv, let out):
                projections = WhisperAttention(q: linear(q), k: slice(kv, 0), v: slice(kv, 1), out: linear(out))
            case .separate(let q, let k, let v, let out):
                projections = WhisperAttention(q: linear(q), k: linear(k, bias: false), v: linear(v), out: linear(out))
            }
            return (norm(a.norm), projections)
        }
        conv1Weight = store.floats(n.conv(1, "weight")); conv1Bias = store.floats(n.conv(1, "bias"))
        conv2Weight = store.floats(n.conv(2, "weight")); conv2Bias = store.floats(n.conv(2, "bias"))
        encoderPositions = store.floats(n.encoderPositions)
        encoderLayers = (0..<dims.encoderLayers).map { i in
            let (an, a) = attention(n.encoderSelf(i))
            return WhisperEncoderLayer(attentionNorm: an, attention: a, ffnNorm: norm(n.ffnNorm(.encoder, i)),
                                       fc1: linear(n.fc(.encoder, i, 1)), fc2: linear(n.fc(.encoder, i, 2)))
        }
        encoderNorm = norm(n.finalNorm(.encoder))
        tokenEmbedding = store.matrix(n.tokenEmbedding)
        decoderPositions = store.floats(n.decoderPositions)
        decoderLayers = (0..<dims.decoderLayers).map { i in
            let (sn, s) = attention(n.decoderSelf(i))
            let (cn, c) = attention(n.decoderCross(i))
            return WhisperDecoderLayer(selfNorm: sn, selfAttention: s, crossNorm: cn, cross: c,
                                       ffnNorm: norm(n.ffnNorm(.decoder, i)), fc1: linear(n.fc(.decoder, i, 1)),
                                       fc2: linear(n.fc(.decoder, i, 2)))
        }
        decoderNorm = norm(n.finalNorm(.decoder))
    }
}
