/// Tensor names of the two Whisper layouts, role by role.
struct WhisperNames {
    enum Stack { case encoder, decoder }
    enum Projections {
        case fused(qkv: String, out: String)                   // CTranslate2 self-attention
        case crossFused(q: String, kv: String, out: String)    // CTranslate2 cross-attention
        case separate(q: String, k: String, v: String, out: String)
    }
    struct Attention {
        let norm: String
        let projections: Projections
    }

    let layout: WhisperLayout
    var ct2: Bool { layout == .ctranslate2 }

    /// Suffixes of a linear layer's tensors.
    var weight: String { ct2 ? "/weight" : ".weight" }
    var bias: String { ct2 ? "/bias" : ".bias" }
    func gamma(_ norm: String) -> String { ct2 ? norm + "/gamma" : norm + ".weight" }
    func beta(_ norm: String) -> String { ct2 ? norm + "/beta" : norm + ".bias" }

    func conv(_ i: Int, _ part: String) -> String { ct2 ? "encoder/conv\(i)/\(part)" : "model.encoder.conv\(i).\(part)" }
    var encoderPositions: String { ct2 ? "encoder/position_encodings/encodings" : "model.encoder.embed_positions.weight" }
    var decoderPositions: String { ct2 ? "decoder/position_encodings/encodings" : "model.decoder.embed_positions.weight" }
    var tokenEmbedding: String { ct2 ? "decoder/embeddings/weight" : "model.decoder.embed_tokens.weight" }

    private func layer(_ s: Stack, _ i: Int) -> String {
        switch (ct2, s) {
        case (true, .encoder): return "encoder/layer_\(i)/"
        case (true, .decoder): return "decoder/layer_\(i)/"
        case (false, .encoder): return "model.encoder.layers.\(i)."
        case (false, .decoder): return "model.decoder.layers.\(i)."
        }
    }

    func finalNorm(_ s: Stack) -> String {
        switch (ct2, s) {
        case (true, .encoder): return "encoder/layer_norm"
        case (true, .decoder): return "decoder/layer_norm"
        case (false, .encoder): return "model.encoder.layer_norm"
        case (false, .decoder): return "model.decoder.layer_norm"
        }
    }

    func ffnNorm(_ s: Stack, _ i: Int) -> String { layer(s, i) + (ct2 ? "ffn/layer_norm" : "final_layer_norm") }
    func fc(_ s: Stack, _ i: Int, _ n: Int) -> String { layer(s, i) + (ct2 ? "ffn/linear_\(n - 1)" : "fc\(n)") }

    func encoderSelf(_ i: Int) -> Attention { selfAttention(layer(.encoder, i)) }
    func decoderSelf(_ i: Int) -> Attention { selfAttention(layer(.decoder, i)) }

    private func selfAttention(_ p: String) -> Attention {
        if ct2 {
            return Attention(norm: p + "self_attention/layer_norm",
                             projections: .fused(qkv: p + "self_attention/linear_0", out: p + "self_attention/linear_1"))
        }
        return Attention(norm: p + "self_attn_layer_norm",
                         projections: .separate(q: p + "self_attn.q_proj", k: p + "self_attn.k_proj",
                                                v: p + "self_attn.v_proj", out: p + "self_attn.out_proj"))
    }

    func decoderCross(_ i: Int) -> Attention {
        let p = layer(.decoder, i)
        if ct2 {
            return Attention(norm: p + "attention/layer_norm",
                             projections: .crossFused(q: p + "attention/linear_0", kv: p + "attention/linear_1",
                                                      out: p + "attention/linear_2"))
        }
        return Attention(norm: p + "encoder_attn_layer_norm",
                         projections: .separate(q: p + "encoder_attn.q_proj", k: p + "encoder_attn.k_proj",
                                                v: p + "encoder_attn.v_proj", out: p + "encoder_attn.out_proj"))
    }
}
