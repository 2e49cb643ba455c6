import EarshotTensor
import EarshotTokenizer
import Foundation

/// A loaded Qwen3-ASR model: config, tokenizer and read-only weights mapped from the published
/// directory layout. Sessions (`Qwen3ASRState`) hold everything mutable, so one model serves many
/// sessions; `close()` unmaps the weights once no session is using them.
public final class Qwen3ASRModel: @unchecked Sendable {
    // @unchecked: every stored property is immutable after init; weights are read-only mappings.
    public let directory: String
    public let config: Qwen3ASRConfig
    public let features: FeatureConfig
    public let tokenizer: Qwen2Tokenizer
    public let store: WeightStore
    let weights: Qwen3ASRWeights
    public let encoder: Qwen3ASREncoder
    public let decoder: Qwen3ASRDecoder

    public static let modelType = "qwen3_asr"
    /// `<|im_end|>` and `<|endoftext|>`.
    public static let defaultEOS: Set<Int> = [151645, 151643]
    public let eosIDs: Set<Int>

    /// Loads a published checkpoint directory or a GGUF file written by `earshot convert`.
    /// `progress(done, total)` reports matrices quantized at load (`q8`/`q4` from a bf16 checkpoint).
    public init(directory: String, precision: WeightPrecision = .inPlace,
                progress: ((Int, Int) -> Void)? = nil) throws(ModelError) {
        self.directory = directory
        let files = try ModelFiles(path: directory)
        var handedOver = false
        defer { if !handedOver { files.close() } }
        guard let configBytes = try files.bytes("config.json") else {
            throw .notAModelDirectory(path: directory, reason: "config.json is missing")
        }
        config = try Qwen3ASRConfig.decode(Data(configBytes), path: files.location("config.json"))
        guard config.modelType == Self.modelType else {
            throw .unsupportedModelType(path: directory, modelType: config.modelType, supported: [Self.modelType])
        }
        features = try FeatureConfig.decode(try files.bytes("preprocessor_config.json").map { Data($0) },
                                            path: files.location("preprocessor_config.json"),
                                            modelBins: config.thinkerConfig.audioConfig.numMelBins)
        tokenizer = try Self.loadTokenizer(files)
        let eos = Self.readEOS(try files.bytes("generation_config.json")) ?? Self.defaultEOS
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
        encoder = Qwen3ASREncoder(weights: weights, config: config.thinkerConfig.audioConfig)
        decoder = Qwen3ASRDecoder(w: weights, config: config.thinkerConfig.textConfig)
        eosIDs = eos
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

    /// Languages this checkpoint names in `support_languages` (else the 30 canonical names).
    public var supportedLanguages: [String] { config.supportLanguages ?? Qwen3ASRPrompt.languages }

    /// Makes the per-session state: a KV cache for `maxTokens` positions and reusable scratch.
    public func makeState(maxTokens: Int, blockRows: Int = 256) throws(ModelError) -> Qwen3ASRState {
        let limit = min(maxTokens, config.thinkerConfig.textConfig.maxPositionEmbeddings)
        do {
            return try Qwen3ASRState(config: config.thinkerConfig.textConfig, maxTokens: limit,
                                    blockRows: blockRows, matrixScratch: decoder.matrixScratch)
        } catch {
            throw .weights(error)
        }
    }

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

    /// The prompt ids for `audioTokens` placeholders.
    public func promptTokens(context: String, language: String?, audioTokens: Int) throws(ModelError) -> [Int] {
        try Qwen3ASRPrompt.tokens(tokenizer: tokenizer, context: context, language: language, audioTokens: audioTokens,
                                  audioTokenID: config.thinkerConfig.audioTokenID)
    }

    /// Prefills `tokens` (audio rows injected at the placeholders); logits land in `state.logitsPointer`.
    public func prefill(tokens: [Int], audio: UnsafePointer<Float>?, audioCount: Int, state: Qwen3ASRState) throws(ModelError) {
        try decoder.prefill(tokens: tokens, audio: audio, audioCount: audioCount,
                            audioTokenID: config.thinkerConfig.audioTokenID, state: state)
    }

    /// Appends one generated token; its logits land in `state.logitsPointer`.
    public func step(token: Int, state: Qwen3ASRState) throws(ModelError) {
        try decoder.step(token: token, state: state)
    }

    /// Weight bytes one decode step reads: every decoder matrix plus the tied output head
    /// (the lower bound on memory traffic per generated token).
    public var decodeWeightBytesPerToken: Int {
        let layers = weights.decoderLayers.reduce(0) { sum, l in
            sum + [l.q, l.k, l.v, l.o, l.gate, l.up, l.down].reduce(0) { $0 + $1.byteCount }
        }
        return layers + weights.embedTokens.byteCount
    }

    /// Weights (rows x cols, summed) of every decoder layer matrix a prompt row goes through,
    /// excluding the output head (prefill applies it to the last row only): prefill costs about
    /// `2 * promptTokens * decodeParametersPerToken` floating-point operations.
    public var decodeParametersPerToken: Int {
        weights.decoderLayers.reduce(0) { sum, l in
            sum + [l.q, l.k, l.v, l.o, l.gate, l.up, l.down].reduce(0) { $0 + $1.rows * $1.cols }
        }
    }

    /// Bytes mapped for this model's weights.
    public var mappedBytes: Int { store.mappedBytes }

    public func close() { store.close() }

    private static func readEOS(_ bytes: [UInt8]?) -> Set<Int>? {
        guard let bytes, let obj = JSONField.object(Data(bytes)) else { return nil }
        switch obj["eos_token_id"] {
        case .ints(let ids) where !ids.isEmpty: return Set(ids)
        case .int(let id): return [id]
        default: return nil
        }
    }
}
