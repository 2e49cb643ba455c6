/// Whisper's two tasks: text in the spoken language, or translated into English.
public enum TranscriptionTask: String, Sendable, CaseIterable {
    case transcribe, translate
}

/// What a caller asks of one transcription.
public struct TranscriptionOptions: Sendable {
    /// `translate`: English text from speech in any language (multilingual Whisper models only).
    public var task: TranscriptionTask = .transcribe
    /// Force the output language (one of the model's supported names, any case); nil detects it.
    public var language: String?
    /// Background text (names, terms): Qwen3-ASR puts it in the system turn; Whisper uses it as
    /// faster-whisper's `initial_prompt` (after <|startofprev|>, at most 223 tokens).
    public var context: String
    /// Cap on generated tokens per 20-minute pass.
    public var maxNewTokens: Int
    /// Stop when a short token pattern repeats this many times (runaway loop guard); 0 disables.
    public var loopGuardRepeats: Int
    /// Benchmarks only: generate through end-of-sequence tokens, so that (with `loopGuardRepeats`
    /// 0) a pass decodes exactly `maxNewTokens` tokens whatever the weights predict. EOS ids then
    /// stay in `tokenIDs` and the text after them is meaningless. Default false.
    public var ignoreEOS: Bool
    /// Whisper: decode with timestamp tokens, so `segments` carry the model's own start and end
    /// times (otherwise one segment per 30 s window), and windows after the first start at the
    /// last timestamp. On by default, as in faster-whisper. Qwen3-ASR has no timestamps and ignores it.
    public var timestamps: Bool
    /// Whisper: the search and its fallback (default: faster-whisper's). Qwen3-ASR decodes greedily.
    public var decoding: WhisperDecodingOptions
    /// Whisper: each segment's words with their start, end and probability (cross-attention
    /// alignment, as faster-whisper's `word_timestamps=True`). Needs the model's alignment heads.
    public var wordTimestamps = false
    /// Voice activity detection first (faster-whisper's `vad_filter`): only speech is transcribed,
    /// and timestamps map back to the original clip. nil (default): the whole clip.
    public var vad: VoiceActivityFilter?

    public init(language: String? = nil, context: String = "", maxNewTokens: Int = 1024, loopGuardRepeats: Int = 20,
                ignoreEOS: Bool = false, timestamps: Bool = true, decoding: WhisperDecodingOptions = .fasterWhisper) {
        self.timestamps = timestamps
        self.decoding = decoding
        self.language = language
        self.context = context
        self.maxNewTokens = maxNewTokens
        self.loopGuardRepeats = loopGuardRepeats
        self.ignoreEOS = ignoreEOS
    }
}

/// Wall-clock costs of one transcription, in milliseconds.
public struct Timings: Sendable, Codable, Equatable {
    public var loadMs: Double = 0
    /// Features + encoder.
    public var encodeMs: Double = 0
    /// Running the prompt (text and audio embeddings) through the decoder.
    public var prefillMs: Double = 0
    /// From the start of the request to the first generated token (features, encoder, prefill, first step).
    public var ttftMs: Double = 0
    /// Generating every token after the first.
    public var decodeMs: Double = 0
    public var tokensPerSecond: Double = 0
    /// The whole request: features, every pass and window, decoding.
    public var totalMs: Double = 0
    /// Total processing time / audio duration.
    public var rtf: Double = 0
    /// Voice activity detection (when asked for), part of `totalMs`.
    public var vadMs: Double = 0
    /// Forced alignment of the transcript (Qwen3-ASR with an aligner), part of `totalMs`.
    public var alignMs: Double = 0

    public init() {}

    /// Adds the stage costs of another pass (not the totals, which the caller measures).
    mutating func add(_ other: Timings) {
        encodeMs += other.encodeMs
        prefillMs += other.prefillMs
        decodeMs += other.decodeMs
        if ttftMs == 0 { ttftMs = other.ttftMs }
    }

    enum CodingKeys: String, CodingKey {
        case loadMs = "load_ms", encodeMs = "encode_ms", prefillMs = "prefill_ms", ttftMs = "ttft_ms", decodeMs = "decode_ms"
        case tokensPerSecond = "tokens_per_second", totalMs = "total_ms", rtf, vadMs = "vad_ms", alignMs = "align_ms"
    }
}

/// One word of a segment: its text (with its leading space, as Whisper spells it), where it is
/// in the audio (seconds) and the mean probability of its tokens (0 when not computed: the
/// forced aligner's words have none).
public struct TranscriptWord: Sendable, Codable, Equatable {
    public var start: Double
    public var end: Double
    public var word: String
    public var probability: Double

    public init(start: Double, end: Double, word: String, probability: Double) {
        self.start = start
        self.end = end
        self.word = word
        self.probability = probability
    }
}

/// A stretch of the transcript with its place in the audio (seconds from the start).
public struct TranscriptSegment: Sendable, Codable, Equatable {
    public var start: Double
    public var end: Double
    public var text: String
    public var tokenIDs: [Int]
    /// Mean log-probability of the segment's window (Whisper; 0 when not computed).
    public var avgLogprob: Double
    /// Probability that the segment's window holds no speech (Whisper; 0 when not computed).
    public var noSpeechProb: Double
    /// Temperature the segment's window was decoded at (Whisper; 0 for the beam search or argmax).
    public var temperature: Double
    /// zlib compression ratio of the window's text (Whisper; 0 when not computed).
    public var compressionRatio: Double
    /// Its words, when word timestamps were asked for (nil otherwise).
    public var words: [TranscriptWord]?

    public init(start: Double, end: Double, text: String, tokenIDs: [Int], avgLogprob: Double = 0, noSpeechProb: Double = 0,
                temperature: Double = 0, compressionRatio: Double = 0, words: [TranscriptWord]? = nil) {
        self.words = words
        self.temperature = temperature
        self.compressionRatio = compressionRatio
        self.start = start
        self.end = end
        self.text = text
        self.tokenIDs = tokenIDs
        self.avgLogprob = avgLogprob
        self.noSpeechProb = noSpeechProb
    }

    enum CodingKeys: String, CodingKey {
        case start, end, text, tokenIDs = "token_ids", avgLogprob = "avg_logprob", noSpeechProb = "no_speech_prob"
        case temperature, compressionRatio = "compression_ratio", words
    }
}

/// The outcome of one transcription.
public struct TranscriptionResult: Sendable, Codable, Equatable {
    public var text: String
    /// Detected (or forced) language; empty when none was detected.
    public var language: String
    /// Generated ids before parsing, across all passes.
    public var tokenIDs: [Int]
    public var audioSeconds: Double
    public var audioTokens: Int
    /// Prompt tokens prefilled (audio placeholders included), across all passes.
    public var promptTokens: Int = 0
    public var timings: Timings
    /// Timed pieces of `text` (Whisper: per window, or per timestamp pair with `timestamps`);
    /// empty when the model gives none.
    public var segments: [TranscriptSegment] = []

    public init(text: String, language: String, tokenIDs: [Int], audioSeconds: Double, audioTokens: Int,
                promptTokens: Int = 0, timings: Timings, segments: [TranscriptSegment] = []) {
        self.text = text
        self.language = language
        self.tokenIDs = tokenIDs
        self.audioSeconds = audioSeconds
        self.audioTokens = audioTokens
        self.promptTokens = promptTokens
        self.timings = timings
        self.segments = segments
    }

    enum CodingKeys: String, CodingKey {
        case text, language, tokenIDs = "token_ids", audioSeconds = "audio_seconds", audioTokens = "audio_tokens",
             promptTokens = "prompt_tokens", timings, segments
    }
}
