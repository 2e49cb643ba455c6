import EarshotTensor
import EarshotTokenizer

/// A loaded Qwen3-ForcedAligner: the Qwen3-ASR thinker (same encoder, same decoder blocks, loaded
/// by `Qwen3ThinkerParts`) whose head `thinker.lm_head` `[classify_num, hidden]` classifies time,
/// not tokens. Given audio and its transcript it predicts, in one causal forward pass, a time
/// class at each `<timestamp>` slot: two slots (start, end) after every word.
///
/// Read-only after load, like `Qwen3ASRModel`; sessions hold a `Qwen3ASRState` each.
public final class Qwen3ForcedAlignerModel: Qwen3AudioEncoding, @unchecked Sendable {
    // @unchecked: every stored property is immutable after init; weights are read-only mappings.
    public let directory: String
    let thinker: Qwen3ThinkerParts
    public var config: Qwen3ASRConfig { thinker.config }
    public var features: FeatureConfig { thinker.features }
    public var tokenizer: Qwen2Tokenizer { thinker.tokenizer }
    public var store: WeightStore { thinker.store }
    var weights: Qwen3ASRWeights { thinker.weights }
    public var encoder: Qwen3ASREncoder { thinker.encoder }
    var decoder: Qwen3ASRDecoder { thinker.decoder }
    let head: Matrix                      // [classes, H]
    /// Time classes of the head (`classify_num`).
    public let classes: Int
    /// The id of `<timestamp>` (`timestamp_token_id`).
    public let timestampTokenID: Int
    /// Milliseconds per class (`timestamp_segment_time`).
    public let millisecondsPerClass: Double

    /// The slot pair written after each word (and once when there are no words).
    static let slotPair = "<timestamp><timestamp>"

    public init(directory: String, precision: WeightPrecision = .inPlace,
                progress: ((Int, Int) -> Void)? = nil) throws(ModelError) {
        self.directory = directory
        thinker = try Qwen3ThinkerParts(directory: directory, precision: precision, progress: progress, aligner: true)
        // `validate` guaranteed the three aligner fields and the table the head.
        head = thinker.weights.classifier!
        classes = head.rows
        timestampTokenID = thinker.config.timestampTokenID!
        millisecondsPerClass = thinker.config.timestampSegmentTime!
    }

    /// The transcript's words as the official processor cuts them for `language`.
    public func words(_ text: String, language: String) throws(ModelError) -> [String] {
        try AlignerWords.split(text, language: language)
    }

    /// `<|audio_start|>` + `<|audio_pad|>` x `audioTokens` + `<|audio_end|>` + each word followed by
    /// `<timestamp><timestamp>` (one pair when there are no words): no template, no BOS, tokenised
    /// at once, so each word is BPE-encoded on its own between added tokens, without a leading space.
    public func promptTokens(words: [String], audioTokens: Int) throws(ModelError) -> [Int] {
        let body = words.isEmpty ? Self.slotPair : words.map { $0 + Self.slotPair }.joined()
        let ids = tokenizer.encode("<|audio_start|><|audio_pad|><|audio_end|>" + body)
        let pad = config.thinkerConfig.audioTokenID
        guard let at = ids.firstIndex(of: pad), ids.lastIndex(of: pad) == at else {
            throw .tokenizer("the vocabulary does not map <|audio_pad|> to id \(pad)")
        }
        let slots = ids.reduce(0) { $0 + ($1 == timestampTokenID ? 1 : 0) }
        guard slots == 2 * max(words.count, 1) else {
            throw .tokenizer("the vocabulary does not map <timestamp> to id \(timestampTokenID) (found \(slots) of \(2 * max(words.count, 1)) slots)")
        }
        return Array(ids[..<at]) + Array(repeating: pad, count: audioTokens) + Array(ids[(at + 1)...])
    }

    /// A state for prompts of up to `maxTokens` positions: the KV cache, and slot logits for one
    /// block (`blockRows x classes`).
    public func makeState(maxTokens: Int, blockRows: Int = 256) throws(ModelError) -> Qwen3ASRState {
        let limit = min(maxTokens, config.thinkerConfig.textConfig.maxPositionEmbeddings)
        do {
            return try Qwen3ASRState(config: config.thinkerConfig.textConfig, maxTokens: limit, blockRows: blockRows,
                                     matrixScratch: decoder.matrixScratch, logitsFloats: blockRows * classes)
        } catch {
            throw .weights(error)
        }
    }

    /// Runs the whole prompt from an empty state (audio rows injected at the placeholders) and
    /// returns the argmax class at every `<timestamp>` slot, in order (the official `output_ids`).
    /// `visit(slot, hidden [H], logits [classes])` sees each slot's final-norm row and logits.
    public func classify(tokens: [Int], audio: UnsafePointer<Float>?, audioCount: Int, state: Qwen3ASRState,
                         visit: ((Int, UnsafePointer<Float>, UnsafePointer<Float>) -> Void)? = nil) throws(ModelError) -> [Int] {
        state.reset()
        let slots = tokens.reduce(0) { $0 + ($1 == timestampTokenID ? 1 : 0) }
        var out = [Int](repeating: 0, count: slots)
        let classes = self.classes
        try out.withUnsafeMutableBufferPointer { ids throws(ModelError) in
            try decoder.prefill(tokens: tokens, audio: audio, audioCount: audioCount,
                                audioTokenID: config.thinkerConfig.audioTokenID, state: state,
                                slots: .init(tokenID: timestampTokenID, head: head)) { slot, hidden, logits in
                ids[slot] = Kernels.argmax(logits, count: classes)
                visit?(slot, hidden, logits)
            }
        }
        return out
    }

    /// Milliseconds of each class as the official code forms them: class x segment time in float32.
    public func milliseconds(classes ids: [Int]) -> [Float] {
        ids.map { Float($0) * Float(millisecondsPerClass) }
    }

    /// Words with their repaired times: word i spans slots 2i and 2i+1 (`fix_timestamp` first).
    /// A word-less prompt's lone pair gives no item.
    public func items(words: [String], classes ids: [Int]) -> [AlignedWord] {
        let fixed = TimestampRepair.repair(milliseconds(classes: ids).map(Double.init))
        return words.indices.compactMap { i in
            2 * i + 1 < fixed.count ? AlignedWord(text: words[i], startMs: fixed[2 * i], endMs: fixed[2 * i + 1]) : nil
        }
    }

    /// Decoder matrix parameters each prompt row goes through: an alignment costs about
    /// `2 * promptTokens * decodeParametersPerToken` operations (one prefill, no generation).
    public var decodeParametersPerToken: Int { weights.decoderLayerParameters }

    /// Bytes mapped for this model's weights.
    public var mappedBytes: Int { thinker.mappedBytes }

    public func close() { thinker.close() }
}

/// One aligned word: its text (as the aligner cut it) and times in whole milliseconds.
public struct AlignedWord: Sendable, Equatable, Codable {
    public var text: String
    public var startMs: Int
    public var endMs: Int

    public init(text: String, startMs: Int, endMs: Int) {
        self.text = text
        self.startMs = startMs
        self.endMs = endMs
    }

    /// Seconds, as the official `align()` returns them (`round(ms / 1000, 3)` of whole ms).
    public var start: Double { Double(startMs) / 1000 }
    public var end: Double { Double(endMs) / 1000 }

    // JSON: {"text", "start", "end"} in seconds (as the official items), plus the exact milliseconds.
    enum CodingKeys: String, CodingKey { case text, start, end, startMs = "start_ms", endMs = "end_ms" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(text: try c.decode(String.self, forKey: .text), startMs: try c.decode(Int.self, forKey: .startMs),
                  endMs: try c.decode(Int.self, forKey: .endMs))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(text, forKey: .text)
        try c.encode(start, forKey: .start)
        try c.encode(end, forKey: .end)
        try c.encode(startMs, forKey: .startMs)
        try c.encode(endMs, forKey: .endMs)
    }
}
