import EarshotTensor
import Foundation

/// A small random-weight Whisper model that tests write in both layouts Earshot loads: a
/// CTranslate2 directory (`model.bin` with float32, float16, bfloat16 or row-scaled int8 variables,
/// `config.json`, `vocabulary.txt`) and the same values as a Hugging Face directory (float32
/// safetensors, `config.json`, `generation_config.json`, `tokenizer.json`).
///
/// By default the window sizes stay Whisper's (1500 encoder positions = 3000 mel frames = 30 s,
/// 448 text positions), because the runtime cuts audio into 30 s windows; everything else is
/// small (d 64, 2 heads, 2 + 2 layers, ffn 256, 96 tokens), so a load takes milliseconds. An
/// encode still costs seconds in a debug build (softmax over 1500 x 1500 scores per head), so
/// tests that only compare numbers at the model level may shrink `Dims.audioContext`.
public struct SyntheticWhisper: Sendable {
    public enum Storage: String, Sendable, CaseIterable {
        case float32, float16, bfloat16
        /// Linear weights and the embedding as int8 with a float32 `<name>_scale` per row
        /// (CTranslate2: scale = 127 / max|row|, q = round(w * scale), value = q / scale); the rest float32.
        case int8
    }

    public struct Dims: Sendable, Equatable {
        public var modelDim = 64, heads = 2, encoderLayers = 2, decoderLayers = 2, ffnDim = 256
        public var melBins = 80, audioContext = 1500, textContext = 448
        public init() {}
    }

    /// One variable in CTranslate2 naming. `values` are what a loader must compute with: the
    /// float16-rounded or int8-dequantized numbers when the storage is lossy.
    public struct Tensor: Sendable {
        public let name: String
        public let shape: [Int]
        public let values: [Float]
        /// int8 storage: the stored integers and per-row scales.
        public let int8: (q: [Int8], scale: [Float])?
    }

    public let dims: Dims
    public let storage: Storage
    /// Float variables in CTranslate2 naming (no scalars, no scales), sorted by name.
    public let tensors: [Tensor]

    // MARK: Vocabulary

    /// Text tokens (GPT-2 byte-level spelling: `Ġ` is a space), then Whisper's specials, then
    /// timestamps up to the vocabulary size. `<|nocaptions|>` is the older name of no-speech.
    public static let vocabulary: [String] = {
        var v = (UInt8(ascii: "a")...UInt8(ascii: "z")).map { String(UnicodeScalar($0)) }
        v += [".", ",", "'", "Ġ"]
        v += ["ĠThe", "Ġbirch", "Ġcanoe", "Ġslid", "Ġon", "Ġthe", "Ġsmooth", "Ġplanks", "ĠIt", "'s", "Ġeasy",
              "Ġto", "Ġtell", "Ġdepth", "Ġof", "Ġa", "Ġwell", "Ġdark"]
        v += specials
        let timestamps = vocabSize - v.count
        v += (0..<timestamps).map { String(format: "<|%.2f|>", Double($0) * 0.02) }
        return v
    }()

    public static let specials = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|fr|>", "<|translate|>",
                                  "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>",
                                  "<|notimestamps|>"]
    public static let vocabSize = 96
    public static func id(_ token: String) -> Int { vocabulary.firstIndex(of: token)! }
    /// Never generated (the checkpoint's list) and not allowed first, as config.json states them.
    public static var suppressIDs: [Int] { [id("q"), id("x"), id("z")] }
    public static var suppressAtBegin: [Int] { [id("Ġ"), id("<|endoftext|>")] }

    // MARK: Weights

    public init(seed: UInt64 = 1, storage: Storage = .float32, dims: Dims = Dims()) {
        self.dims = dims
        self.storage = storage
        var rng = SeededRandom(seed: seed)
        let d = dims.modelDim, f = dims.ffnDim
        var raw: [(String, [Int], [Float])] = []
        func add(_ name: String, _ shape: [Int], scale: Float, offset: Float = 0) {
            raw.append((name, shape, rng.floats(shape.reduce(1, *), scale: scale).map { $0 + offset }))
        }
        func norm(_ p: String) { add(p + "/gamma", [d], scale: 0.2, offset: 1); add(p + "/beta", [d], scale: 0.1) }
        func linear(_ p: String, _ rows: Int, _ cols: Int, zeroBiasRows: Range<Int>? = nil) {
            add(p + "/weight", [rows, cols], scale: 1 / Float(cols).squareRoot())
            var bias = rng.floats(rows, scale: 0.1)
            // Whisper's key projections have no bias: CTranslate2 fuses them with zeros.
            if let zero = zeroBiasRows { for r in zero { bias[r] = 0 } }
            raw.append((p + "/bias", [rows], bias))
        }
        add("encoder/conv1/weight", [d, dims.melBins, 3], scale: 1 / Float(dims.melBins * 3).squareRoot())
        add("encoder/conv1/bias", [d], scale: 0.1)
        add("encoder/conv2/weight", [d, d, 3], scale: 1 / Float(d * 3).squareRoot())
        add("encoder/conv2/bias", [d], scale: 0.1)
        add("encoder/position_encodings/encodings", [dims.audioContext, d], scale: 0.5)
        for i in 0..<dims.encoderLayers {
            let p = "encoder/layer_\(i)/"
            norm(p + "self_attention/layer_norm")
            linear(p + "self_attention/linear_0", 3 * d, d, zeroBiasRows: d..<2 * d)
            linear(p + "self_attention/linear_1", d, d)
            norm(p + "ffn/layer_norm")
            linear(p + "ffn/linear_0", f, d)
            linear(p + "ffn/linear_1", d, f)
        }
        norm("encoder/layer_norm")
        add("decoder/embeddings/weight", [Self.vocabSize, d], scale: 0.5)
        add("decoder/position_encodings/encodings", [dims.textContext, d], scale: 2)
        for i in 0..<dims.decoderLayers {
            let p = "decoder/layer_\(i)/"
            norm(p + "self_attention/layer_norm")
            linear(p + "self_attention/linear_0", 3 * d, d, zeroBiasRows: d..<2 * d)
            linear(p + "self_attention/linear_1", d, d)
            norm(p + "attention/layer_norm")
            linear(p + "attention/linear_0", d, d)
            linear(p + "attention/linear_1", 2 * d, d, zeroBiasRows: 0..<d)
            linear(p + "attention/linear_2", d, d)
            norm(p + "ffn/layer_norm")
            linear(p + "ffn/linear_0", f, d)
            linear(p + "ffn/linear_1", d, f)
        }
        norm("decoder/layer_norm")

        tensors = raw.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }.map { name, shape, values in
            switch storage {
            case .float32:
                return Tensor(name: name, shape: shape, values: values, int8: nil)
            case .float16:
                return Tensor(name: name, shape: shape, values: values.map { Float(Float16($0)) }, int8: nil)
            case .bfloat16:
                return Tensor(name: name, shape: shape, values: values.map { Float(bitPattern: UInt32(bf16Bits($0)) << 16) },
                              int8: nil)
            case .int8:
                guard Self.isInt8Candidate(name) else { return Tensor(name: name, shape: shape, values: values, int8: nil) }
                let (q, scale) = Self.quantizeRows(values, rows: shape[0])
                return Tensor(name: name, shape: shape, values: Self.dequantize(q, scale), int8: (q, scale))
            }
        }
    }

    /// CTranslate2 quantizes linear weights and the embedding; norms, biases, convolutions and
    /// positions stay float.
    public static func isInt8Candidate(_ name: String) -> Bool {
        name == "decoder/embeddings/weight" || (name.hasSuffix("/weight") && name.contains("/linear_"))
    }

    /// CTranslate2's int8 convention, per row: scale = 127 / max|w|, q = round(w * scale).
    public static func quantizeRows(_ w: [Float], rows: Int) -> (q: [Int8], scale: [Float]) {
        let cols = w.count / rows
        var q = [Int8](repeating: 0, count: w.count)
        var scales = [Float](repeating: 1, count: rows)
        w.withUnsafeBufferPointer { src in
            q.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rows {
                    var peak: Float = 0
                    for c in 0..<cols { peak = max(peak, abs(src[r * cols + c])) }
                    let scale: Float = peak > 0 ? 127 / peak : 1
                    scales[r] = scale
                    for c in 0..<cols {
                        dst[r * cols + c] = Int8(max(-127, min(127, (src[r * cols + c] * scale).rounded())))
                    }
                }
            }
        }
        return (q, scales)
    }

    /// value = q / scale, row by row.
    public static func dequantize(_ q: [Int8], _ scale: [Float]) -> [Float] {
        let cols = q.count / scale.count
        return q.enumerated().map { Float($0.element) / scale[$0.offset / cols] }
    }

    /// A new empty directory under the temporary directory (the caller removes it).
    public static func scratchDirectory(_ label: String) -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-\(label)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    // MARK: CTranslate2 layout

    /// The configuration scalars of a CTranslate2 Whisper file, as the converter writes them.
    public var scalarEntries: [CTranslate2Writer.Entry] {
        [CTranslate2Writer.Entry(name: "decoder/activation", scalar: 3, as: .int8),
         CTranslate2Writer.Entry(name: "decoder/alibi", scalar: 0, as: .int8),
         CTranslate2Writer.Entry(name: "decoder/alignment_heads", scalar: 1, as: .int16),
         CTranslate2Writer.Entry(name: "decoder/alignment_layer", scalar: -1, as: .int16),
         CTranslate2Writer.Entry(name: "decoder/num_heads", scalar: dims.heads, as: .int16),
         CTranslate2Writer.Entry(name: "decoder/pre_norm", scalar: 1, as: .int8),
         CTranslate2Writer.Entry(name: "decoder/scale_embeddings", scalar: 0, as: .int8),
         CTranslate2Writer.Entry(name: "decoder/start_from_zero_embedding", scalar: 0, as: .int8),
         CTranslate2Writer.Entry(name: "encoder/num_heads", scalar: dims.heads, as: .int16)]
    }

    /// Every variable of `model.bin` in this model's storage (scales included), plus the scalars.
    public var ctranslate2Entries: [CTranslate2Writer.Entry] {
        var out = scalarEntries
        for t in tensors {
            if let int8 = t.int8 {
                out.append(CTranslate2Writer.Entry(name: t.name, shape: t.shape, dtype: .int8,
                                                   bytes: int8.q.map { UInt8(bitPattern: $0) }))
                out.append(CTranslate2Writer.Entry(name: t.name + "_scale", shape: [t.shape[0]], floats: int8.scale))
            } else {
                let dtype: CTranslate2DType = storage == .float16 ? .float16 : storage == .bfloat16 ? .bfloat16 : .float32
                out.append(CTranslate2Writer.Entry(name: t.name, shape: t.shape, floats: t.values, as: dtype))
            }
        }
        return out
    }

    /// The tied output projection, as the converter records it.
    public static let aliases = [("decoder/projection/weight", "decoder/embeddings/weight")]

    /// CTranslate2's `config.json` for Whisper (the decoding settings; no architecture).
    /// Cross-attention heads listed for word timing: both heads of the last decoder layer.
    public static let alignmentHeads = [[1, 0], [1, 1]]

    public static var ctranslate2Config: [String: Any] {
        ["suppress_ids": suppressIDs, "suppress_ids_begin": suppressAtBegin, "lang_ids": [id("<|en|>"), id("<|fr|>")],
         "alignment_heads": alignmentHeads]
    }

    /// Writes the CTranslate2 directory; `entries` replaces the model's variables (for broken files).
    public func writeCTranslate2(to dir: URL, entries: [CTranslate2Writer.Entry]? = nil) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try CTranslate2Writer.write(to: dir.appendingPathComponent("model.bin").path, entries: entries ?? ctranslate2Entries,
                                    aliases: Self.aliases)
        try Self.writeJSON(Self.ctranslate2Config, to: dir.appendingPathComponent("config.json"))
        try Self.writeVocabularyText(Self.vocabulary, to: dir.appendingPathComponent("vocabulary.txt"))
    }

    public static func writeVocabularyText(_ tokens: [String], to url: URL) throws {
        try Data(tokens.map { $0 + "\n" }.joined().utf8).write(to: url)
    }

    public static func writeJSON(_ object: Any, to url: URL) throws {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
    }

    // MARK: Hugging Face layout

    /// Hugging Face `config.json` for these sizes.
    public var huggingFaceConfig: [String: Any] {
        ["model_type": "whisper", "architectures": ["WhisperForConditionalGeneration"], "num_mel_bins": dims.melBins,
         "d_model": dims.modelDim, "encoder_layers": dims.encoderLayers, "decoder_layers": dims.decoderLayers,
         "encoder_attention_heads": dims.heads, "decoder_attention_heads": dims.heads, "encoder_ffn_dim": dims.ffnDim,
         "decoder_ffn_dim": dims.ffnDim, "vocab_size": Self.vocabSize, "max_source_positions": dims.audioContext,
         "max_target_positions": dims.textContext, "torch_dtype": "float32"]
    }

    /// Writes the Hugging Face directory: the same values under Hugging Face names (fused
    /// projections split) as `dtype` (F32 by default, which holds every storage's values exactly),
    /// and `proj_out.weight` too when asked (some exports save the tied copy).
    public func writeHuggingFace(to dir: URL, projOut: Bool = false, dtype: DType = .f32) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var out = WhisperLayoutConversion.huggingFace(tensors.map { ($0.name, $0.shape, $0.values) }, modelDim: dims.modelDim)
        if projOut, let e = out.first(where: { $0.name == "model.decoder.embed_tokens.weight" }) {
            out.append(("proj_out.weight", e.shape, e.values))
        }
        try SafeTensorsWriter.write(path: dir.appendingPathComponent("model.safetensors").path, floats: out,
                                    dtype: dtype, metadata: ["format": "pt"])
        try Self.writeJSON(huggingFaceConfig, to: dir.appendingPathComponent("config.json"))
        try Self.writeJSON(["suppress_tokens": Self.suppressIDs, "begin_suppress_tokens": Self.suppressAtBegin,
                            "alignment_heads": Self.alignmentHeads],
                           to: dir.appendingPathComponent("generation_config.json"))
        try Self.writeJSON(Self.tokenizerJSON(Self.vocabulary), to: dir.appendingPathComponent("tokenizer.json"))
    }

    /// A Hugging Face tokenizer.json for `tokens`: text tokens in `model.vocab`, `<|...|>` tokens in `added_tokens`.
    public static func tokenizerJSON(_ tokens: [String]) -> [String: Any] {
        var vocab: [String: Int] = [:]
        var added: [[String: Any]] = []
        for (i, t) in tokens.enumerated() {
            if t.hasPrefix("<|") && t.hasSuffix("|>") {
                added.append(["id": i, "content": t, "special": true, "single_word": false, "lstrip": false,
                              "rstrip": false, "normalized": false])
            } else {
                vocab[t] = i
            }
        }
        return ["version": "1.0", "added_tokens": added, "model": ["type": "BPE", "vocab": vocab, "merges": [String]()]]
    }
}
