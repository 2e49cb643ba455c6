import EarshotTensor

/// The Qwen3-ASR checkpoint's tensors, bound to typed per-layer structs (the official
/// `modeling_qwen3_asr.py` module tree: `thinker.audio_tower`, `thinker.model`).
///
/// Names are exactly those of the published repositories (`thinker.audio_tower.*`,
/// `thinker.model.*`). In Qwen3-ASR the stored duplicate `thinker.lm_head.weight` is accepted and
/// ignored because the output head is tied to `embed_tokens`; in the forced aligner it is its own
/// time-class head `[classify_num, hidden]` and required.
public struct Qwen3ASRWeights: @unchecked Sendable {
    // @unchecked: pointers into the read-only `WeightStore` that owns them.
    public struct EncoderLayer {
        public let q, k, v, o: Matrix                 // [D, D]
        public let qBias, kBias, vBias, oBias: UnsafePointer<Float>   // [D]
        public let attnNormWeight, attnNormBias: UnsafePointer<Float> // [D]
        public let fc1: Matrix                        // [F, D]
        public let fc1Bias: UnsafePointer<Float>      // [F]
        public let fc2: Matrix                        // [D, F]
        public let fc2Bias: UnsafePointer<Float>      // [D]
        public let ffnNormWeight, ffnNormBias: UnsafePointer<Float>   // [D]
    }

    public struct DecoderLayer {
        public let inputNorm, postAttentionNorm: UnsafePointer<Float> // [H]
        public let q: Matrix                          // [heads*headDim, H]
        public let k, v: Matrix                       // [kvHeads*headDim, H]
        public let o: Matrix                          // [H, heads*headDim]
        public let qNorm, kNorm: UnsafePointer<Float> // [headDim]
        public let gate, up: Matrix                   // [I, H]
        public let down: Matrix                       // [H, I]
    }

    // Conv stem, f32: conv1 [C, 1, 3, 3], conv2/conv3 [C, C, 3, 3], biases [C].
    public let conv1, conv2, conv3: UnsafePointer<Float>
    public let conv1Bias, conv2Bias, conv3Bias: UnsafePointer<Float>
    public let convOut: Matrix                        // [D, C * melBins/8]
    public let encoderLayers: [EncoderLayer]
    public let lnPostWeight, lnPostBias: UnsafePointer<Float>       // [D]
    public let proj1: Matrix                          // [D, D]
    public let proj1Bias: UnsafePointer<Float>
    public let proj2: Matrix                          // [H, D]
    public let proj2Bias: UnsafePointer<Float>
    public let embedTokens: Matrix                    // [V, H], also the tied output head
    public let decoderLayers: [DecoderLayer]
    public let finalNorm: UnsafePointer<Float>        // [H]
    /// Forced aligner only: the time-class head.
    public let classifier: Matrix?                    // [classify_num, H]

    /// Every tensor the config implies, with its shape (names from `Qwen3ASRNames`).
    public static func table(_ config: Qwen3ASRConfig) -> WeightTable {
        typealias N = Qwen3ASRNames
        let a = config.thinkerConfig.audioConfig, t = config.thinkerConfig.textConfig
        let (d, f, c) = (a.dModel, a.encoderFFNDim, a.downsampleHiddenSize)
        let freqAfterConv = convolvedLength(convolvedLength(convolvedLength(a.numMelBins)))
        var w = WeightTable()
        for n in 1...3 {
            w.small(N.conv(n).weight, [c, n == 1 ? 1 : c, 3, 3])
            w.small(N.conv(n).bias, [c])
        }
        // The encoder's linear layers stay as stored unless the file was converted with them quantized.
        w.convertible(N.convOut, [d, c * freqAfterConv])
        for i in 0..<a.encoderLayers {
            let l = N.encoderLayer(i)
            for p in [l.q, l.k, l.v, l.out] {
                w.convertible(p.weight, [d, d])
                w.small(p.bias, [d])
            }
            for norm in [l.attentionNorm, l.ffnNorm] {
                w.small(norm.weight, [d])
                w.small(norm.bias, [d])
            }
            w.convertible(l.fc1.weight, [f, d])
            w.small(l.fc1.bias, [f])
            w.convertible(l.fc2.weight, [d, f])
            w.small(l.fc2.bias, [d])
        }
        w.small(N.encoderFinalNorm.weight, [d])
        w.small(N.encoderFinalNorm.bias, [d])
        w.convertible(N.projector1.weight, [d, d])
        w.small(N.projector1.bias, [d])
        w.convertible(N.projector2.weight, [a.outputDim, d])
        w.small(N.projector2.bias, [a.outputDim])

        let (h, i_, hd) = (t.hiddenSize, t.intermediateSize, t.headDim)
        // The decoder's linear layers and the tied embedding/head may be quantized (the encoder stays as stored).
        w.quantizable(N.embedTokens, [t.vocabSize, h])
        w.small(N.decoderFinalNorm, [h])
        for i in 0..<t.numHiddenLayers {
            let l = N.decoderLayer(i)
            w.small(l.inputNorm, [h])
            w.small(l.postAttentionNorm, [h])
            w.quantizable(l.q, [t.numAttentionHeads * hd, h])
            w.quantizable(l.k, [t.numKeyValueHeads * hd, h])
            w.quantizable(l.v, [t.numKeyValueHeads * hd, h])
            w.quantizable(l.o, [h, t.numAttentionHeads * hd])
            w.small(l.qNorm, [hd])
            w.small(l.kNorm, [hd])
            w.quantizable(l.gate, [i_, h])
            w.quantizable(l.up, [i_, h])
            w.quantizable(l.down, [h, i_])
        }
        if config.isForcedAligner, let classes = config.thinkerConfig.classifyNum {
            w.quantizable(N.storedHead, [classes, h])
        } else {
            // The published checkpoints store the tied head a second time; accept and ignore it.
            w.allow(N.storedHead, [t.vocabSize, h])
        }
        return w
    }

    /// Weights (rows x cols, summed) of every decoder layer matrix, heads excluded.
    public var decoderLayerParameters: Int {
        decoderLayers.reduce(0) { sum, l in
            sum + [l.q, l.k, l.v, l.o, l.gate, l.up, l.down].reduce(0) { $0 + $1.rows * $1.cols }
        }
    }

    /// Output length of one 3x3 stride-2 pad-1 convolution.
    public static func convolvedLength(_ n: Int) -> Int { (n - 1) / 2 + 1 }

    public init(store s: WeightStore, config: Qwen3ASRConfig) {
        typealias N = Qwen3ASRNames
        conv1 = s.floats(N.conv(1).weight); conv1Bias = s.floats(N.conv(1).bias)
        conv2 = s.floats(N.conv(2).weight); conv2Bias = s.floats(N.conv(2).bias)
        conv3 = s.floats(N.conv(3).weight); conv3Bias = s.floats(N.conv(3).bias)
        convOut = s.matrix(N.convOut)
        encoderLayers = (0..<config.thinkerConfig.audioConfig.encoderLayers).map { i in
            let l = N.encoderLayer(i)
            return EncoderLayer(
                q: s.matrix(l.q.weight), k: s.matrix(l.k.weight), v: s.matrix(l.v.weight), o: s.matrix(l.out.weight),
                qBias: s.floats(l.q.bias), kBias: s.floats(l.k.bias), vBias: s.floats(l.v.bias), oBias: s.floats(l.out.bias),
                attnNormWeight: s.floats(l.attentionNorm.weight), attnNormBias: s.floats(l.attentionNorm.bias),
                fc1: s.matrix(l.fc1.weight), fc1Bias: s.floats(l.fc1.bias),
                fc2: s.matrix(l.fc2.weight), fc2Bias: s.floats(l.fc2.bias),
                ffnNormWeight: s.floats(l.ffnNorm.weight), ffnNormBias: s.floats(l.ffnNorm.bias))
        }
        lnPostWeight = s.floats(N.encoderFinalNorm.weight); lnPostBias = s.floats(N.encoderFinalNorm.bias)
        proj1 = s.matrix(N.projector1.weight); proj1Bias = s.floats(N.projector1.bias)
        proj2 = s.matrix(N.projector2.weight); proj2Bias = s.floats(N.projector2.bias)
        embedTokens = s.matrix(N.embedTokens)
        finalNorm = s.floats(N.decoderFinalNorm)
        classifier = config.isForcedAligner ? s.matrix(N.storedHead) : nil
        decoderLayers = (0..<config.thinkerConfig.textConfig.numHiddenLayers).map { i in
            let l = N.decoderLayer(i)
            return DecoderLayer(
                inputNorm: s.floats(l.inputNorm), postAttentionNorm: s.floats(l.postAttentionNorm),
                q: s.matrix(l.q), k: s.matrix(l.k), v: s.matrix(l.v), o: s.matrix(l.o),
                qNorm: s.floats(l.qNorm), kNorm: s.floats(l.kNorm),
                gate: s.matrix(l.gate), up: s.matrix(l.up), down: s.matrix(l.down))
        }
    }
}
