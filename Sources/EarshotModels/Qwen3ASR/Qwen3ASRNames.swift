/// Tensor names of the published Qwen3-ASR checkpoints, role by role (the pattern of
/// `WhisperNames`): the weight table and the typed weights both read names from here, so each
/// name is written once.
enum Qwen3ASRNames {
    /// A linear layer: `<name>.weight` and, where the layer has one, `<name>.bias`.
    struct Linear {
        let weight: String
        let bias: String
        init(_ name: String) { weight = name + ".weight"; bias = name + ".bias" }
    }

    /// A LayerNorm (weight and bias); RMSNorms have only a weight and are plain names.
    typealias LayerNorm = Linear

    /// One AuT encoder layer (Whisper-style: biased projections, LayerNorm, GELU MLP).
    struct EncoderLayer {
        let q, k, v, out: Linear
        let attentionNorm: LayerNorm
        let fc1, fc2: Linear
        let ffnNorm: LayerNorm
    }

    /// One Qwen3 decoder layer: RMSNorm weights and bias-free projections (`.weight` names).
    struct DecoderLayer {
        let inputNorm, postAttentionNorm: String
        let q, k, v, o: String
        let qNorm, kNorm: String
        let gate, up, down: String
    }

    static let audio = "thinker.audio_tower."
    static let text = "thinker.model."

    /// The three 3x3 stride-2 convolutions of the stem (`n` = 1, 2, 3) and their output projection.
    static func conv(_ n: Int) -> Linear { Linear(audio + "conv2d\(n)") }
    static let convOut = audio + "conv_out.weight"
    static let encoderFinalNorm = LayerNorm(audio + "ln_post")
    /// The projector from the encoder's width to the decoder's.
    static let projector1 = Linear(audio + "proj1")
    static let projector2 = Linear(audio + "proj2")

    static func encoderLayer(_ i: Int) -> EncoderLayer {
        let p = audio + "layers.\(i)."
        return EncoderLayer(q: Linear(p + "self_attn.q_proj"), k: Linear(p + "self_attn.k_proj"),
                            v: Linear(p + "self_attn.v_proj"), out: Linear(p + "self_attn.out_proj"),
                            attentionNorm: LayerNorm(p + "self_attn_layer_norm"),
                            fc1: Linear(p + "fc1"), fc2: Linear(p + "fc2"), ffnNorm: LayerNorm(p + "final_layer_norm"))
    }

    /// The token embedding, also the tied output head.
    static let embedTokens = text + "embed_tokens.weight"
    static let decoderFinalNorm = text + "norm.weight"
    /// The published checkpoints store the tied head a second time under this name.
    static let storedHead = "thinker.lm_head.weight"

    static func decoderLayer(_ l: Int) -> DecoderLayer {
        let p = text + "layers.\(l)."
        return DecoderLayer(inputNorm: p + "input_layernorm.weight",
                            postAttentionNorm: p + "post_attention_layernorm.weight",
                            q: p + "self_attn.q_proj.weight", k: p + "self_attn.k_proj.weight",
                            v: p + "self_attn.v_proj.weight", o: p + "self_attn.o_proj.weight",
                            qNorm: p + "self_attn.q_norm.weight", kNorm: p + "self_attn.k_norm.weight",
                            gate: p + "mlp.gate_proj.weight", up: p + "mlp.up_proj.weight",
                            down: p + "mlp.down_proj.weight")
    }
}
