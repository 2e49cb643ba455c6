import EarshotTensor
import EarshotTokenizer
import Foundation

/// What Qwen3-ASR and the Qwen3-ForcedAligner load the same way from one checkpoint (published
/// directory or GGUF file written by `earshot convert`): the config, the feature extractor's
/// settings, the tokenizer, the EOS ids, the strictly checked weight store and the encoder and
/// decoder over it. The two families share the thinker (audio encoder + Qwen3 decoder); only the
/// head and the config's aligner fields differ, and the weight table follows the config.
/// Read-only after init (the models hold one each).
struct Qwen3ThinkerParts {
    let config: Qwen3ASRConfig
    let features: FeatureConfig
    let tokenizer: Qwen2Tokenizer
    /// `generation_config.json`'s `eos_token_id`, when it names any.
    let eos: Set<Int>?
    let store: WeightStore
    let weights: Qwen3ASRWeights
    let encoder: Qwen3ASREncoder
    let decoder: Qwen3ASRDecoder
    /// The conv stem as q8_0 GEMMs when the encoder's linear layers are quantized (nil otherwise).
    let convStem: Qwen3QuantizedConvStem?

    /// `aligner` says which of the two the caller expects; the other one is refused by name
    /// before any weight is mapped (an aligner's time-class head is no vocabulary projection).
    init(directory: String, precision: WeightPrecision, progress: ((Int, Int) -> Void)?,
         aligner: Bool) throws(ModelError) {
        let files = try ModelFiles(path: directory)
        var handedOver = false
        defer { if !handedOver { files.close() } }
        guard let configBytes = try files.bytes("config.json") else {
            throw .notAModelDirectory(path: directory, reason: "config.json is missing")
        }
        config = try Qwen3ASRConfig.decode(Data(configBytes), path: files.location("config.json"))
        guard config.modelType == Qwen3ASRModel.modelType else {
            throw .unsupportedModelType(path: directory, modelType: config.modelType, supported: [Qwen3ASRModel.modelType])
        }
        if config.isForcedAligner != aligner {
            throw .wrongFamily(path: directory,
                               found: config.isForcedAligner ? "Qwen3-ForcedAligner (word timestamps)" : "Qwen3-ASR",
                               expected: aligner ? "Qwen3-ForcedAligner" : "Qwen3-ASR")
        }
        features = try FeatureConfig.decode(try files.bytes("preprocessor_config.json").map { Data($0) },
                                            path: files.location("preprocessor_config.json"),
                                            modelBins: config.thinkerConfig.audioConfig.numMelBins)
        tokenizer = try Self.loadTokenizer(files)
        eos = Self.readEOS(try files.bytes("generation_config.json"))
        let weightFile = try files.weights()
        handedOver = true
        do {
            // Layer counts are checked against the file before the table is built (see ConfigBounds).
            let table = try Qwen3ASRWeights.checkedTable(config, file: weightFile, path: files.location("config.json"))
            store = try WeightStore(file: weightFile, table: table, precision: precision, progress: progress)
        } catch {
            weightFile.close()
            throw error
        }
        weights = Qwen3ASRWeights(store: store, config: config)
        do {
            convStem = weights.convOut.quantFormat != nil
                ? try Qwen3QuantizedConvStem(weights: weights, channels: config.thinkerConfig.audioConfig.downsampleHiddenSize)
                : nil
        } catch {
            store.close()
            throw .weights(error)
        }
        encoder = Qwen3ASREncoder(weights: weights, config: config.thinkerConfig.audioConfig, convStem: convStem)
        decoder = Qwen3ASRDecoder(w: weights, config: config.thinkerConfig.textConfig)
    }

    /// Bytes mapped for the weights (the file, converted tensors and the quantized conv stem).
    var mappedBytes: Int { store.mappedBytes + (convStem?.mappedBytes ?? 0) }

    func close() {
        convStem?.close()
        store.close()
    }

    /// `vocab.json` + `merges.txt` (+ `tokenizer_config.json`) when both exist, else `tokenizer.json`.
    private static func loadTokenizer(_ files: ModelFiles) throws(ModelError) -> Qwen2Tokenizer {
        do throws(TokenizerError) {
            if !files.isGGUF { return try Qwen2Tokenizer(directory: URL(fileURLWithPath: files.path)) }
        } catch {
            throw .tokenizer("\(files.path): \(error)")
        }
        let vocab = try files.bytes("vocab.json"), merges = try files.bytes("merges.txt")
        let config = try files.bytes("tokenizer_config.json"), json = try files.bytes("tokenizer.json")
        do throws(TokenizerError) {
            if let vocab, let merges {
                return try Qwen2Tokenizer(vocab: vocab, merges: merges, config: config, origin: files.path)
            }
            guard let json else { throw .noTokenizerFiles(directory: files.path) }
            return try Qwen2Tokenizer(tokenizerJSON: json, origin: files.path)
        } catch {
            throw .tokenizer("\(files.path): \(error)")
        }
    }

    private static func readEOS(_ bytes: [UInt8]?) -> Set<Int>? {
        guard let bytes, let obj = JSONField.object(Data(bytes)) else { return nil }
        switch obj["eos_token_id"] {
        case .ints(let ids) where !ids.isEmpty: return Set(ids)
        case .int(let id): return [id]
        default: return nil
        }
    }
}

/// The audio side both Qwen3 families share: the AuT encoder and its projector.
public protocol Qwen3AudioEncoding {
    var encoder: Qwen3ASREncoder { get }
}

extension Qwen3AudioEncoding {
    /// Audio tokens for `frames` mel frames.
    public func audioTokenCount(frames: Int) -> Int { encoder.tokenCount(frames: frames) }

    /// Encoder scratch floats for `frames` mel frames (bounded for any length).
    public func encoderScratchFloats(frames: Int) -> Int { encoder.scratchFloats(frames: frames) }

    /// Encodes mel `[bins, frames]` into `out` `[audioTokenCount(frames), hidden]`, using `scratch`
    /// (`encoderScratchFloats(frames:)` floats, e.g. from a session's arena) or a per-call buffer.
    public func encode(mel: UnsafePointer<Float>, frames: Int, into out: UnsafeMutablePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>? = nil) throws(ModelError) {
        guard frames > 0 else { throw .audioTooShort(samples: 0) }
        do { try encoder.encode(mel: mel, frames: frames, into: out, scratch: scratch) } catch { throw .weights(error) }
    }
}
