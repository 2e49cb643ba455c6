import EarshotTensor
import Foundation

/// Rewrites Whisper checkpoints between the layouts Earshot loads, for tests: CTranslate2 names to
/// Hugging Face names (spelled here independently of the loader's table, so the two check each
/// other), and copies of a real CTranslate2 directory in Hugging Face layout or as int8.
public enum WhisperLayoutConversion {
    public typealias Named = (name: String, shape: [Int], values: [Float])

    /// The Hugging Face tensors holding CTranslate2 float variables `ct2`: renamed, fused q/k/v
    /// (`[3d, d]`) and cross-attention k/v (`[2d, d]`) split into `[d, d]` projections, and the
    /// key biases dropped (Whisper's keys have none; CTranslate2 stores zeros).
    public static func huggingFace(_ ct2: [Named], modelDim d: Int) -> [Named] {
        var out: [Named] = []
        for t in ct2 {
            let cols = t.shape.dropFirst().reduce(1, *)
            for (name, part) in huggingFaceNames(t.name) {
                guard let part else {
                    out.append((name, t.shape, t.values))
                    continue
                }
                let shape = t.shape.count == 1 ? [d] : [d] + t.shape.dropFirst()
                out.append((name, shape, Array(t.values[part * d * cols..<(part + 1) * d * cols])))
            }
        }
        return out
    }

    /// Hugging Face names of one CTranslate2 variable, with the `d`-row part each takes (nil:
    /// the whole variable). Empty for the key bias, which Hugging Face does not have.
    public static func huggingFaceNames(_ ct2: String) -> [(String, Int?)] {
        let c = ct2.split(separator: "/").map(String.init)
        precondition(c.count >= 2 && (c[0] == "encoder" || c[0] == "decoder"), "not a Whisper variable: \(ct2)")
        let stack = "model.\(c[0])."
        func norm(_ part: String) -> String { part == "gamma" ? "weight" : "bias" }
        if c[1].hasPrefix("layer_"), c[1] != "layer_norm", c.count == 5 {
            let p = stack + "layers.\(c[1].dropFirst("layer_".count))."
            let (module, piece, part) = (c[2], c[3], c[4])
            switch (module, piece) {
            case ("self_attention", "layer_norm"): return [(p + "self_attn_layer_norm." + norm(part), nil)]
            case ("attention", "layer_norm"): return [(p + "encoder_attn_layer_norm." + norm(part), nil)]
            case ("ffn", "layer_norm"): return [(p + "final_layer_norm." + norm(part), nil)]
            case ("ffn", "linear_0"): return [(p + "fc1." + part, nil)]
            case ("ffn", "linear_1"): return [(p + "fc2." + part, nil)]
            case ("self_attention", "linear_1"): return [(p + "self_attn.out_proj." + part, nil)]
            case ("attention", "linear_0"): return [(p + "encoder_attn.q_proj." + part, nil)]
            case ("attention", "linear_2"): return [(p + "encoder_attn.out_proj." + part, nil)]
            case ("self_attention", "linear_0"):
                let names = [(p + "self_attn.q_proj." + part, 0), (p + "self_attn.k_proj." + part, 1),
                             (p + "self_attn.v_proj." + part, 2)]
                return names.filter { part == "weight" || $0.1 != 1 }.map { ($0.0, $0.1) }
            case ("attention", "linear_1"):
                let names = [(p + "encoder_attn.k_proj." + part, 0), (p + "encoder_attn.v_proj." + part, 1)]
                return names.filter { part == "weight" || $0.1 != 0 }.map { ($0.0, $0.1) }
            default: preconditionFailure("not a Whisper layer variable: \(ct2)")
            }
        }
        switch c.dropFirst().joined(separator: "/") {
        case "conv1/weight", "conv1/bias", "conv2/weight", "conv2/bias": return [(stack + c[1] + "." + c[2], nil)]
        case "position_encodings/encodings": return [(stack + "embed_positions.weight", nil)]
        case "embeddings/weight": return [(stack + "embed_tokens.weight", nil)]
        case "layer_norm/gamma", "layer_norm/beta": return [(stack + "layer_norm." + norm(c[2]), nil)]
        default: preconditionFailure("not a Whisper variable: \(ct2)")
        }
    }

    // MARK: Copies of real checkpoints

    /// Float variables of a CTranslate2 file as f32, sorted by name: float16 widened, int8
    /// dequantized; scalars, `_scale` vectors and aliases left out.
    public static func floatVariables(_ f: CTranslate2File) -> [Named] {
        var out: [Named] = []
        for name in f.variableNames where !name.hasSuffix("_scale") {
            guard let v = f.variable(name), !v.shape.isEmpty else { continue }
            let bytes = f.data(v)
            var values = [Float](repeating: 0, count: v.elementCount)
            values.withUnsafeMutableBufferPointer { dst in
                switch v.dtype {
                case .float32: UnsafeMutableRawBufferPointer(dst).copyMemory(from: bytes)
                case .float16: Kernels.f16ToF32(unaligned: bytes.baseAddress!, dst.baseAddress!, count: dst.count)
                case .int8:
                    let scales = f.data(f.variable(name + "_scale")!)
                    let cols = v.elementCount / v.shape[0]
                    for i in 0..<dst.count {
                        let scale = scales.loadUnaligned(fromByteOffset: 4 * (i / cols), as: Float.self)
                        dst[i] = Float(Int8(bitPattern: bytes[i])) / scale
                    }
                default: preconditionFailure("\(name): \(v.dtype) is not a float variable")
                }
            }
            out.append((name, v.shape, values))
        }
        return out
    }

    /// Writes a Hugging Face copy of the CTranslate2 Whisper directory `source` into `dir`:
    /// float32 `model.safetensors`, `config.json` from the file's shapes and head counts,
    /// `generation_config.json` from its `config.json`, and its `tokenizer.json`.
    public static func writeHuggingFace(from source: URL, to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let f = try CTranslate2File(path: source.appendingPathComponent("model.bin").path)
        defer { f.close() }
        func shape(_ name: String) -> [Int] { f.variable(name)!.shape }
        func layers(_ stack: String) -> Int {
            Set(f.variableNames.compactMap { n -> Int? in
                let c = n.split(separator: "/")
                return c.count > 2 && c[0] == stack && c[1].hasPrefix("layer_") ? Int(c[1].dropFirst("layer_".count)) : nil
            }).count
        }
        let d = shape("encoder/conv1/weight")[0]
        try SafeTensorsWriter.write(path: dir.appendingPathComponent("model.safetensors").path,
                                    floats: huggingFace(floatVariables(f), modelDim: d), metadata: ["format": "pt"])
        let ffn = shape("encoder/layer_0/ffn/linear_0/weight")[0]
        let config: [String: Any] = [
            "model_type": "whisper", "num_mel_bins": shape("encoder/conv1/weight")[1], "d_model": d,
            "encoder_layers": layers("encoder"), "decoder_layers": layers("decoder"),
            "encoder_attention_heads": f.integerScalar("encoder/num_heads")!,
            "decoder_attention_heads": f.integerScalar("decoder/num_heads")!, "encoder_ffn_dim": ffn,
            "decoder_ffn_dim": ffn, "vocab_size": shape("decoder/embeddings/weight")[0],
            "max_source_positions": shape("encoder/position_encodings/encodings")[0],
            "max_target_positions": shape("decoder/position_encodings/encodings")[0]]
        try SyntheticWhisper.writeJSON(config, to: dir.appendingPathComponent("config.json"))
        let ct2Config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json")))
            as! [String: Any]
        try SyntheticWhisper.writeJSON(["suppress_tokens": ct2Config["suppress_ids"] ?? [Int](),
                                        "begin_suppress_tokens": ct2Config["suppress_ids_begin"] ?? [Int](),
                                        "alignment_heads": ct2Config["alignment_heads"] ?? [[Int]]()],
                                       to: dir.appendingPathComponent("generation_config.json"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("tokenizer.json"),
                                         to: dir.appendingPathComponent("tokenizer.json"))
    }

    /// Writes an int8 copy of the CTranslate2 Whisper directory `source` into `dir`, as the
    /// converter's int8 quantization does: every linear weight and the embedding as int8 rows
    /// with a float32 `<name>_scale` (scale = 127 / max|row|); everything else as stored.
    public static func writeInt8(from source: URL, to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let f = try CTranslate2File(path: source.appendingPathComponent("model.bin").path)
        defer { f.close() }
        let floats = Dictionary(uniqueKeysWithValues: floatVariables(f).map { ($0.name, $0.values) })
        var entries: [CTranslate2Writer.Entry] = []
        for name in f.variableNames {
            let v = f.variable(name)!
            if SyntheticWhisper.isInt8Candidate(name), let values = floats[name] {
                let (q, scale) = SyntheticWhisper.quantizeRows(values, rows: v.shape[0])
                entries.append(CTranslate2Writer.Entry(name: name, shape: v.shape, dtype: .int8,
                                                       bytes: q.map { UInt8(bitPattern: $0) }))
                entries.append(CTranslate2Writer.Entry(name: name + "_scale", shape: [v.shape[0]], floats: scale))
            } else {
                entries.append(CTranslate2Writer.Entry(name: name, shape: v.shape, dtype: v.dtype, bytes: Array(f.data(v))))
            }
        }
        try CTranslate2Writer.write(to: dir.appendingPathComponent("model.bin").path, specName: f.specName,
                                    specRevision: f.specRevision, entries: entries,
                                    aliases: f.aliases.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        for file in ["config.json", "vocabulary.txt"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
    }
}
