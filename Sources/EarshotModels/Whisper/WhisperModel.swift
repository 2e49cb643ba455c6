import EarshotTensor
import Foundation

/// A loaded Whisper model (any published size): dimensions, vocabulary, decoding settings and
/// read-only weights, from a CTranslate2 directory (`model.bin`, faster-whisper's format) or a
/// Hugging Face `openai/whisper-*` directory (`config.json` + safetensors). Sessions
/// (`WhisperState`) hold everything mutable; `close()` unmaps the weights.
public final class WhisperModel: @unchecked Sendable {
    // @unchecked: every stored property is immutable after init; weights are read-only mappings.
    public let directory: String
    public let layout: WhisperLayout
    public let dims: WhisperDimensions
    public let vocabulary: WhisperVocabulary
    public let generation: WhisperGenerationConfig
    public let store: WeightStore
    let weights: WhisperWeights
    let encoder: WhisperEncoder
    let decoder: WhisperDecoder
    let promptEncoder: WhisperPromptEncoder

    public static let modelType = "whisper"

    /// English-only checkpoints (`*.en`) have 51864 tokens and no language or task tokens in their prompt.
    public var isMultilingual: Bool { dims.vocabSize >= 51865 }
    /// Languages a request may force, by English name in token order (English-only models: English).
    public var supportedLanguages: [String] {
        guard isMultilingual else { return ["English"] }
        let v = vocabulary.languages
        return v.keys.sorted { v[$0]! < v[$1]! }.map(WhisperLanguages.name(of:))
    }

    public init(directory: String, precision: WeightPrecision = .inPlace,
                progress: ((Int, Int) -> Void)? = nil) throws(ModelError) {
        self.directory = directory
        let file: any WeightFile
        let modelBin = URL(fileURLWithPath: directory).appendingPathComponent("model.bin").path
        if FileManager.default.fileExists(atPath: modelBin) {
            layout = .ctranslate2
            let ct2: CTranslate2File
            do { ct2 = try CTranslate2File(path: modelBin) } catch { throw .ctranslate2(error) }
            file = ct2
            do { dims = try Self.ctranslate2Dimensions(ct2, path: modelBin) } catch {
                ct2.close()
                throw error
            }
        } else {
            layout = .huggingFace
            let path = URL(fileURLWithPath: directory).appendingPathComponent("config.json").path
            guard let data = try ModelFiles.read(path).map({ Data($0) }) else {
                throw .notAModelDirectory(path: directory, reason: "neither model.bin nor config.json is present")
            }
            let config = try WhisperHFConfig.decode(data, path: path)
            guard config.modelType == Self.modelType else {
                throw .unsupportedModelType(path: directory, modelType: config.modelType, supported: [Self.modelType])
            }
            dims = try config.dimensions(path: path)
            do { file = try SafeTensorsArchive(directory: directory) } catch { throw .weights(error) }
        }
        var handedOver = false
        defer { if !handedOver { file.close() } }
        try dims.validate(path: directory)
        vocabulary = try WhisperVocabulary.load(directory: directory)
        guard vocabulary.tokens.count <= dims.vocabSize, vocabulary.noTimestamps < dims.vocabSize else {
            throw .tokenizer("\(directory): \(vocabulary.tokens.count) tokens for a model of \(dims.vocabSize)")
        }
        generation = try WhisperGenerationConfig.read(directory: directory, vocabSize: dims.vocabSize, dims: dims)
        var table = WhisperWeights.table(dims, layout: layout)
        if let ct2 = file as? CTranslate2File {
            for name in ct2.variableNames where ct2.variable(name)?.shape.isEmpty == true { table.allow(name, []) }
        }
        handedOver = true
        do {
            store = try WeightStore(file: file, table: table, precision: precision, progress: progress)
        } catch {
            file.close()
            throw error
        }
        weights = WhisperWeights(store: store, dims: dims, layout: layout)
        encoder = WhisperEncoder(w: weights, dims: dims)
        decoder = WhisperDecoder(w: weights, dims: dims)
        promptEncoder = WhisperPromptEncoder(directory: directory)
    }

    /// The tokens of an initial prompt (faster-whisper's `initial_prompt`: " " + the trimmed text),
    /// at most 223; needs the directory's tokenizer.json.
    public func encodePrompt(_ text: String) throws(ModelError) -> [Int] {
        try promptEncoder.encode(text, vocabSize: dims.vocabSize)
    }

    /// Sizes from a CTranslate2 file's shapes and scalars, after checking its scalars describe
    /// Whisper as Earshot computes it (pre-norm, GELU, unscaled embeddings, no ALiBi).
    static func ctranslate2Dimensions(_ f: CTranslate2File, path: String) throws(ModelError) -> WhisperDimensions {
        guard f.specName == "WhisperSpec" else {
            throw .unsupportedModelType(path: path, modelType: f.specName.isEmpty ? "(unnamed spec)" : f.specName,
                                        supported: ["WhisperSpec"])
        }
        func shape(_ name: String, rank: Int) throws(ModelError) -> [Int] {
            guard let v = f.variable(name) else { throw .missingTensor(name: name) }
            guard v.shape.count == rank else { throw .invalidConfig(path: path, reason: "'\(name)' has rank \(v.shape.count), expected \(rank)") }
            return v.shape
        }
        for (name, expected) in [("decoder/pre_norm", 1), ("decoder/scale_embeddings", 0), ("decoder/alibi", 0),
                                 ("decoder/start_from_zero_embedding", 0), ("decoder/activation", 3),
                                 ("encoder/activation", 3), ("encoder/pre_norm", 1)] {
            if let value = f.integerScalar(name), value != expected {
                throw .invalidConfig(path: path, reason: "'\(name)' is \(value); Whisper needs \(expected)")
            }
        }
        let conv1 = try shape("encoder/conv1/weight", rank: 3)
        let embedding = try shape("decoder/embeddings/weight", rank: 2)
        /// Layers `0..<n` of a stack: those with any variable at all, so a layer missing one tensor
        /// is reported by that tensor's name rather than cut off (its other tensors "unexpected").
        func layers(_ stack: String) -> Int {
            let prefix = stack + "/layer_"
            var present = Set<Int>()
            for name in f.variableNames where name.hasPrefix(prefix) {
                let rest = name.dropFirst(prefix.count)
                if let slash = rest.firstIndex(of: "/"), let n = Int(rest[..<slash]) { present.insert(n) }
            }
            var n = 0
            while present.contains(n) { n += 1 }
            return n
        }
        let d = conv1[0]
        let ffn = try shape("encoder/layer_0/ffn/linear_0/weight", rank: 2)[0]
        return WhisperDimensions(melBins: conv1[1], modelDim: d, encoderLayers: layers("encoder"),
                                 decoderLayers: layers("decoder"),
                                 encoderHeads: f.integerScalar("encoder/num_heads") ?? max(1, d / 64),
                                 decoderHeads: f.integerScalar("decoder/num_heads") ?? max(1, d / 64),
                                 ffnDim: ffn, vocabSize: embedding[0],
                                 audioContext: try shape("encoder/position_encodings/encodings", rank: 2)[0],
                                 textContext: try shape("decoder/position_encodings/encodings", rank: 2)[0])
    }

    /// Scratch floats batched matrix products need (quantized matrices are dequantized tile by tile).
    var matrixScratch: Int {
        var m = weights.tokenEmbedding.scratchFloats
        for l in weights.encoderLayers {
            m = max(m, l.attention.q.weight.scratchFloats, l.attention.out.weight.scratchFloats,
                    l.fc1.weight.scratchFloats, l.fc2.weight.scratchFloats)
        }
        for l in weights.decoderLayers {
            m = max(m, l.selfAttention.q.weight.scratchFloats, l.cross.k.weight.scratchFloats,
                    l.fc1.weight.scratchFloats, l.fc2.weight.scratchFloats)
        }
        return m
    }

    /// A session's state: caches and scratch for `slots` hypotheses decoded side by side, allocated once.
    public func makeState(slots: Int = 1) throws(ModelError) -> WhisperState {
        do { return try WhisperState(dims: dims, matrixScratch: matrixScratch, slots: slots) } catch { throw .weights(error) }
    }

    /// Encodes the 30 s window in `state.melPointer` (`[mels, 2 * audioContext]`) and prepares
    /// cross-attention for it; resets the decoded tokens.
    public func encode(_ state: WhisperState) {
        state.reset()
        encoder.encode(state)
    }

    /// Appends `tokens` to the decoded sequence; logits of the last land in `state.logitsPointer`.
    public func decode(_ tokens: [Int], state: WhisperState) throws(ModelError) {
        guard state.length + tokens.count <= dims.textContext else {
            throw .promptTooLong(tokens: state.length + tokens.count, limit: dims.textContext)
        }
        for t in tokens where t < 0 || t >= dims.vocabSize {
            throw .invalidConfig(path: directory, reason: "token id \(t) outside the vocabulary of \(dims.vocabSize)")
        }
        tokens.withUnsafeBufferPointer { decoder.forward($0, state) }
    }

    /// Appends one generated token without allocating (the per-token path of `decode`).
    public func decode(token: Int, state: WhisperState) throws(ModelError) {
        guard state.length + 1 <= dims.textContext else {
            throw .promptTooLong(tokens: state.length + 1, limit: dims.textContext)
        }
        guard token >= 0, token < dims.vocabSize else {
            throw .invalidConfig(path: directory, reason: "token id \(token) outside the vocabulary of \(dims.vocabSize)")
        }
        withUnsafePointer(to: token) { decoder.forward(UnsafeBufferPointer(start: $0, count: 1), state) }
    }

    /// Appends `tokens[i]` to the hypothesis in slot `slots[i]` (all at position `state.length`);
    /// row i's logits land in `state.logits(row: i)`. Allocates nothing.
    public func decodeStep(_ tokens: UnsafeBufferPointer<Int>, slots: UnsafeBufferPointer<Int>,
                           state: WhisperState) throws(ModelError) {
        guard state.length + 1 <= dims.textContext else {
            throw .promptTooLong(tokens: state.length + 1, limit: dims.textContext)
        }
        guard tokens.count == slots.count, tokens.count <= state.slots else {
            throw .invalidConfig(path: directory, reason: "\(tokens.count) rows for \(state.slots) hypothesis slots")
        }
        for t in tokens where t < 0 || t >= dims.vocabSize {
            throw .invalidConfig(path: directory, reason: "token id \(t) outside the vocabulary of \(dims.vocabSize)")
        }
        for slot in slots where slot < 0 || slot >= state.slots {
            throw .invalidConfig(path: directory, reason: "hypothesis slot \(slot) outside 0..<\(state.slots)")
        }
        decoder.step(tokens, slots: slots, state)
    }

    /// Bytes of decoder weights one generated token reads (layers plus the tied head).
    public var decodeWeightBytesPerToken: Int {
        weights.decoderLayers.reduce(weights.tokenEmbedding.byteCount) { sum, l in
            sum + [l.selfAttention.q, l.selfAttention.k, l.selfAttention.v, l.selfAttention.out, l.cross.q, l.cross.out,
                   l.fc1, l.fc2].reduce(0) { $0 + $1.weight.byteCount }
        }
    }

    /// Decoder matrix parameters (rows x cols) a token goes through, excluding the output head.
    public var decodeParametersPerToken: Int {
        weights.decoderLayers.reduce(0) { sum, l in
            sum + [l.selfAttention.q, l.selfAttention.k, l.selfAttention.v, l.selfAttention.out, l.cross.q, l.cross.out,
                   l.fc1, l.fc2].reduce(0) { $0 + $1.weight.rows * $1.weight.cols }
        }
    }

    public var mappedBytes: Int { store.mappedBytes }

    public func close() { store.close() }
}
