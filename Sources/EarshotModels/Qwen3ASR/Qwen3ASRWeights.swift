import EarshotTensor

/// The Qwen3-ASR checkpoint's tensors (spec §8.2), bound to typed per-layer structs.
///
/// Names are exactly those of the published repositories (`thinker.audio_tower.*`,
/// `thinker.model.*`); the stored duplicate `thinker.lm_head.weight` is accepted and ignored
/// because the output head is tied to `embed_tokens`.
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

    static let audio = "thinker.audio_tower."
    static let text = "thinker.model."

    /// Every tensor the config implies, with its shape.
    public static func table(_ config: Qwen3ASRConfig) -> WeightTable {
        let a = config.thinkerConfig.audioConfig, t = config.thinkerConfig.textConfig
        let (d, f, c) = (a.dModel, a.encoderFFNDim, a.downsampleHiddenSize)
        let freqAfterConv = convolvedLength(convolvedLength(convolvedLength(a.numMelBins)))
        var w = WeightTable()
        w.small(audio + "conv2d1.weight", [c, 1, 3, 3])
        w.small(audio + "conv2d1.bias", [c])
        for n in ["conv2d2", "conv2d3"] {
            w.small(audio + "\(n).weight", [c, c, 3, 3])
            w.small(audio + "\(n).bias", [c])
        }
        w.matrix(audio + "conv_out.weight", [d, c * freqAfterConv])
        for i in 0..<a.encoderLayers {
            let p = audio + "layers.\(i)."
            for n in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                w.matrix(p + "self_attn.\(n).weight", [d, d])
                w.small(p + "self_attn.\(n).bias", [d])
            }
            for n in ["self_attn_layer_norm", "final_layer_norm"] {
                w.small(p + "\(n).weight", [d])
                w.small(p + "\(n).bias", [d])
            }
            w.matrix(p + "fc1.weight", [f, d])
            w.small(p + "fc1.bias", [f])
            w.matrix(p + "fc2.weight", [d, f])
            w.small(p + "fc2.bias", [d])
        }
        w.small(audio + "ln_post.weight", [d])
        w.small(audio + "ln_post.bias", [d])
        w.matrix(audio + "proj1.weight", [d, d])
        w.small(audio + "proj1.bias", [d])
        w.matrix(audio + "proj2.weight", [a.outputDim, d])
        w.small(audio + "proj2.bias", [a.outputDim])

        let (h, i_, hd) = (t.hiddenSize, t.intermediateSize, t.headDim)
        // The decoder's linear layers and the tied embedding/head may be quantized (the encoder stays as stored).
        w.quantizable(text + "embed_tokens.weight", [t.vocabSize, h])
        w.small(text + "norm.weight", [h])
        for l in 0..<t.numHiddenLayers {
            let p = text + "layers.\(l)."
            w.small(p + "input_layernorm.weight", [h])
            w.small(p + "post_attention_layernorm.weight", [h])
            w.quantizable(p + "self_attn.q_proj.weight", [t.numAttentionHeads * hd, h])
            w.quantizable(p + "self_attn.k_proj.weight", [t.numKeyValueHeads * hd, h])
            w.quantizable(p + "self_attn.v_proj.weight", [t.numKeyValueHeads * hd, h])
            w.quantizable(p + "self_attn.o_proj.weight", [h, t.numAttentionHeads * hd])
            w.small(p + "self_attn.q_norm.weight", [hd])
            w.small(p + "self_attn.k_norm.weight", [hd])
            w.quantizable(p + "mlp.gate_proj.weight", [i_, h])
            w.quantizable(p + "mlp.up_proj.weight", [i_, h])
            w.quantizable(p + "mlp.down_proj.weight", [h, i_])
        }
        // The published checkpoints store the tied head a second time; accept and ignore it.
        w.allow("thinker.lm_head.weight", [t.vocabSize, h])
        return w
    }

    /// Output length of one 3x3 stride-2 pad-1 convolution.
    public static func convolvedLength(_ n: Int) -> Int { (n - 1) / 2 + 1 }

    public init(store s: WeightStore, config: Qwen3ASRConfig) {
        let a = Self.audio, t = Self.text
        conv1 = s.floats(a + "conv2d1.weight"); conv1Bias = s.floats(a + "conv2d1.bias")
        conv2 = s.floats(a + "conv2d2.weight"); conv2Bias = s.floats(a + "conv2d2.bias")
        conv3 = s.floats(a + "conv2d3.weight"); conv3Bias = s.floats(a + "conv2d3.bias")
        convOut = s.matrix(a + "conv_out.weight")
        encoderLayers = (0..<config.thinkerConfig.audioConfig.encoderLayers).map { i in
            let p = a + "layers.\(i)."
            return EncoderLayer(
                q: s.matrix(p + "self_attn.q_proj.weight"), k: s.matrix(p + "self_attn.k_proj.weight"),
                v: s.matrix(p + "self_attn.v_proj.weight"), o: s.matrix(p + "self_attn.out_proj.weight"),
                qBias: s.floats(p + "self_attn.q_proj.bias"), kBias: s.floats(p + "self_attn.k_proj.bias"),
                vBias: s.floats(p + "self_attn.v_proj.bias"), oBias: s.floats(p + "self_attn.out_proj.bias"),
                attnNormWeight: s.floats(p + "self_attn_layer_norm.weight"), attnNormBias: s.floats(p + "self_attn_layer_norm.bias"),
                fc1: s.matrix(p + "fc1.weight"), fc1Bias: s.floats(p + "fc1.bias"),
                fc2: s.matrix(p + "fc2.weight"), fc2Bias: s.floats(p + "fc2.bias"),
                ffnNormWeight: s.floats(p + "final_layer_norm.weight"), ffnNormBias: s.floats(p + "final_layer_norm.bias"))
        }
        lnPostWeight = s.floats(a + "ln_post.weight"); lnPostBias = s.floats(a + "ln_post.bias")
        proj1 = s.matrix(a + "proj1.weight"); proj1Bias = s.floats(a + "proj1.bias")
        proj2 = s.matrix(a + "proj2.weight"); proj2Bias = s.floats(a + "proj2.bias")
        embedTokens = s.matrix(t + "embed_tokens.weight")
        finalNorm = s.floats(t + "norm.weight")
        decoderLayers = (0..<config.thinkerConfig.textConfig.numHiddenLayers).map { l in
            let p = t + "layers.\(l)."
            return DecoderLayer(
                inputNorm: s.floats(p + "input_layernorm.weight"),
                postAttentionNorm: s.floats(p + "post_attention_layernorm.weight"),
                q: s.matrix(p + "self_attn.q_proj.weight"), k: s.matrix(p + "self_attn.k_proj.weight"),
                v: s.matrix(p + "self_attn.v_proj.weight"), o: s.matrix(p + "self_attn.o_proj.weight"),
                qNorm: s.floats(p + "self_attn.q_norm.weight"), kNorm: s.floats(p + "self_attn.k_norm.weight"),
                gate: s.matrix(p + "mlp.gate_proj.weight"), up: s.matrix(p + "mlp.up_proj.weight"),
                down: s.matrix(p + "mlp.down_proj.weight"))
        }
    }
}
