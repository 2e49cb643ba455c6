import EarshotAudio
import EarshotModels
import EarshotTensor

/// Words of a transcript with their times in the audio.
public struct AlignmentResult: Sendable, Codable, Equatable {
    public var words: [AlignedWord]
    public var audioSeconds: Double
    public var audioTokens = 0
    public var promptTokens = 0
    /// `encodeMs` (features + encoder), `prefillMs` (the one decoder pass), `totalMs`, `rtf`.
    public var timings = Timings()

    enum CodingKeys: String, CodingKey {
        case words, audioSeconds = "audio_seconds", audioTokens = "audio_tokens", promptTokens = "prompt_tokens", timings
    }
}

/// A forced-aligner session: features -> encoder -> the words' prompt -> one causal pass that
/// classifies every `<timestamp>` slot -> `fix_timestamp` -> word times. It owns the decoder state
/// (KV cache, slot logits) and the per-request arena, sized on first use and reused by later
/// requests (grown only when a request needs more positions). One request at a time.
///
/// `@unchecked Sendable`: as `Session`, mutable state handed between tasks, never used by two at
/// once; the cancellation flag is atomic.
public final class AlignerSession: @unchecked Sendable {
    public let model: Qwen3ForcedAlignerModel
    private let front: Qwen3AudioFront
    private let cancelFlag: CancelFlag
    private let storage: SessionStorage<Qwen3ASRState>

    /// Transcripts denser than this are refused: no speech holds 50 words a second, so such a
    /// pairing is a mistake (the wrong file or text), not something to align. The constant lets
    /// the shortest clips through (the official fixture aligns 16 characters to 0.3 s).
    public static let maxWordsPerSecond = 50.0
    public static let wordAllowance = 20

    public convenience init(model: Qwen3ForcedAlignerModel) throws(RuntimeError) {
        try self.init(model: model, cancel: CancelFlag())
    }

    /// `cancel`: the flag of the `Session` this one serves (its `cancel()` reaches the alignment).
    init(model: Qwen3ForcedAlignerModel, cancel: CancelFlag) throws(RuntimeError) {
        self.model = model
        cancelFlag = cancel
        storage = SessionStorage(cancel: cancel)
        front = try Qwen3AudioFront(features: model.features)
    }

    /// Decodes an audio file (WAV natively, other formats through ffmpeg) and aligns `text` to it.
    public func align(path: String, text: String, language: String? = nil,
                      audioLimits: AudioDecodeLimits = .none) throws(RuntimeError) -> AlignmentResult {
        let samples: AudioSamples
        do { samples = try AudioDecoder.load(path: path, limits: audioLimits) } catch { throw .audio(error) }
        return try align(samples, text: text, language: language)
    }

    /// Aligns `text` to 16 kHz mono samples. `language` picks the word splitting (any name; Japanese
    /// and Korean are refused, see `AlignerWords`). A transcript without words gives no words (as the
    /// official `align()`), without running the model.
    public func align(_ samples: AudioSamples, text: String, language: String? = nil) throws(RuntimeError) -> AlignmentResult {
        let clock = ContinuousClock()
        let start = clock.now
        return try align(samples, spans: try Self.spans(text, language: language), since: start)
    }

    /// The transcript's words (with where each starts in it) as the aligner cuts them for `language`.
    static func spans(_ text: String, language: String?) throws(RuntimeError) -> [AlignerWords.Span] {
        if let language, language.unicodeScalars.count > 64 {
            throw .invalidOption(option: "language", value: String(language.prefix(64)) + "...", allowed: "names of at most 64 characters")
        }
        do { return try AlignerWords.spans(text, language: language ?? "") } catch { throw .model(error) }
    }

    /// Aligns words already cut by `spans` (the timed transcription keeps the spans to give the
    /// transcript's punctuation back); `start` is when the request began, for its timings.
    func align(_ samples: AudioSamples, spans: [AlignerWords.Span], since start: ContinuousClock.Instant) throws(RuntimeError) -> AlignmentResult {
        let clock = ContinuousClock()
        let words = spans.map(\.text)
        guard samples.count >= front.mel.hop else { throw .model(.audioTooShort(samples: samples.count)) }
        let seconds = samples.duration
        let span = Double(model.classes) * model.millisecondsPerClass / 1000
        guard seconds <= span else {
            throw .unalignable("the audio is \(seconds) s; the aligner's \(model.classes) time classes end at \(span) s (align it in pieces)")
        }
        let limit = Self.wordAllowance + Int(Self.maxWordsPerSecond * seconds)
        guard words.count <= limit else {
            throw .unalignable("the transcript has \(words.count) words for \(seconds) s of audio (at most \(limit))")
        }
        var result = AlignmentResult(words: [], audioSeconds: seconds)
        if !words.isEmpty {
            let hidden = model.config.thinkerConfig.textConfig.hiddenSize
            let (embeds, n) = try front.encode(samples, range: 0..<samples.count, padTo: 0, model: model, hidden: hidden,
                                               arena: storage.arena, cancel: cancelFlag)
            result.timings.encodeMs = (clock.now - start).milliseconds
            result.audioTokens = n
            let passStart = clock.now
            let prompt: [Int]
            do { prompt = try model.promptTokens(words: words, audioTokens: n) } catch { throw .model(error) }
            result.promptTokens = prompt.count
            let state = try state(capacity: prompt.count)
            try cancelFlag.check()
            let classes: [Int]
            do { classes = try model.classify(tokens: prompt, audio: embeds, audioCount: n, state: state) } catch {
                throw .model(error)
            }
            result.words = model.items(words: words, classes: classes)
            result.timings.prefillMs = (clock.now - passStart).milliseconds
        }
        result.timings.totalMs = (clock.now - start).milliseconds
        result.timings.rtf = seconds > 0 ? result.timings.totalMs / 1000 / seconds : 0
        return result
    }

    /// The session's state, grown (never per request of the same size) when a prompt needs more positions.
    private func state(capacity: Int) throws(RuntimeError) -> Qwen3ASRState {
        let rounded = (capacity + 1023) / 1024 * 1024   // nearby lengths reuse one state
        return try storage.state(fits: { $0.maxTokens >= capacity }, make: { () throws(ModelError) in
            try model.makeState(maxTokens: rounded)
        })
    }

    /// Asks the request in flight to stop at its next check; safe from any thread.
    public func cancel() { cancelFlag.set(true) }

    /// Clears a previous `cancel()` before the next request.
    public func clearCancellation() { cancelFlag.set(false) }

    /// Releases the state and arena now (the model stays loaded).
    public func close() { storage.close() }

    /// Bytes mapped by this session (state and arena); safe from any thread.
    public var mappedBytes: Int { storage.mappedBytes }
}
