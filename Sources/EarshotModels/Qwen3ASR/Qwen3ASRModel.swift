import EarshotTensor
import EarshotTokenizer
import Foundation

/// A loaded Qwen3-ASR model: config, tokenizer and read-only weights mapped from the published
/// directory layout. Sessions (`Qwen3ASRState`) hold everything mutable, so one model serves many
/// sessions; `close()` unmaps the weights once no session is using them.
public final class Qwen3ASRModel: Qwen3AudioEncoding, @unchecked Sendable {
    // @unchecked: every stored property is immutable after init; weights are read-only mappings.
    public let directory: String
    let thinker: Qwen3ThinkerParts
    public var config: Qwen3ASRConfig { thinker.config }
    public var features: FeatureConfig { thinker.features }
    public var tokenizer: Qwen2Tokenizer { thinker.tokenizer }
    public var store: WeightStore { thinker.store }
    var weights: Qwen3ASRWeights { thinker.weights }
    public var encoder: Qwen3ASREncoder { thinker.encoder }
    public var decoder: Qwen3ASRDecoder { thinker.decoder }

    public static let modelType = "qwen3_asr"
    /// `<|im_end|>` and `<|endoftext|>`.
    public static let defaultEOS: Set<Int> = [151645, 151643]
    public let eosIDs: Set<Int>

    /// Loads a published checkpoint directory or a GGUF file written by `earshot convert`.
    /// `progress(done, total)` reports matrices quantized at load (`q8`/`q4` from a bf16 checkpoint).
    public init(directory: String, precision: WeightPrecision = .inPlace,
                progress: ((Int, Int) -> Void)? = nil) throws(ModelError) {
        self.directory = directory
        thinker = try Qwen3ThinkerParts(directory: directory, precision: precision, progress: progress, aligner: false)
        eosIDs = thinker.eos ?? Self.defaultEOS
    }

    /// Languages this checkpoint names in `support_languages` (else the 30 canonical names).
    public var supportedLanguages: [String] { config.supportLanguages ?? Qwen3ASRPrompt.languages }

    /// Makes the per-session state: a KV cache for `maxTokens` positions and reusable scratch.
    public func makeState(maxTokens: Int, blockRows: Int = 256) throws(ModelError) -> Qwen3ASRState {
        let limit = min(maxTokens, config.thinkerConfig.textConfig.maxPositionEmbeddings)
        do {
            return try Qwen3ASRState(config: config.thinkerConfig.textConfig, maxTokens: limit,
                                    blockRows: blockRows, matrixScratch: decoder.matrixScratch,
                                    logitsFloats: config.thinkerConfig.textConfig.vocabSize)
        } catch {
            throw .weights(error)
        }
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
    public var decodeParametersPerToken: Int { weights.decoderLayerParameters }

    /// Bytes mapped for this model's weights.
    public var mappedBytes: Int { thinker.mappedBytes }

    public func close() { thinker.close() }
}
