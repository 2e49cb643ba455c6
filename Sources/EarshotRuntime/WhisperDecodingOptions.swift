/// How Whisper decodes each 30 s window. The defaults are faster-whisper 1.2.1's
/// `WhisperModel.transcribe` defaults (CTranslate2 underneath): beam search of 5 at temperature 0,
/// then, when a window's text is too repetitive (compression ratio above 2.4) or too unlikely
/// (mean log-probability below -1), sampling 5 candidates at 0.2, 0.4, ... 1.0 and keeping the best.
/// `greedy` is one argmax pass per window with no fallback and no conditioning: Earshot's
/// decoding before the pipeline, equal to faster-whisper with `beam_size=1, temperature=0`.
public struct WhisperDecodingOptions: Sendable, Equatable {
    /// Beams at temperature 0 (1: greedy).
    public var beamSize = 5
    /// Candidates sampled at each temperature above 0; the best (by length-normalised log-probability) wins.
    public var bestOf = 5
    /// Beam search stops after `round(beamSize * patience)` finished hypotheses.
    public var patience = 1.0
    /// Hypothesis scores are cumulative log-probability / length^lengthPenalty.
    public var lengthPenalty = 1.0
    /// Tried in order until a window passes the thresholds.
    public var temperatures: [Double] = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    /// A window whose text compresses (zlib) better than this is retried at the next temperature.
    public var compressionRatioThreshold: Double? = 2.4
    /// A window whose mean log-probability is below this is retried (unless it is judged silent).
    public var logProbThreshold: Double? = -1
    /// A window whose no-speech probability exceeds this and whose mean log-probability is below
    /// `logProbThreshold` is silence: skipped, no text.
    public var noSpeechThreshold: Double? = 0.6
    /// Prompt each window with the text before it (up to 223 tokens).
    public var conditionOnPreviousText = true
    /// A window decoded above this temperature is not used as the next window's prompt.
    public var promptResetOnTemperature = 0.5
    /// Blank and end-of-text are suppressed as the first generated token.
    public var suppressBlank = true
    /// The first timestamp is at most this many seconds into the window.
    public var maxInitialTimestamp = 1.0
    /// Seeds the sampler at temperatures above 0: the same seed, audio and options give the same text.
    public var seed: UInt64 = 0

    public init() {}

    /// faster-whisper's `transcribe()` defaults.
    public static let fasterWhisper = WhisperDecodingOptions()

    /// One argmax pass per window: no beams, no fallback, no previous-text prompt.
    public static var greedy: WhisperDecodingOptions {
        var o = WhisperDecodingOptions()
        o.beamSize = 1
        o.bestOf = 1
        o.temperatures = [0]
        o.conditionOnPreviousText = false
        return o
    }

    /// Hypotheses decoded side by side at most (state slots).
    var slots: Int {
        let sampled = temperatures.contains { $0 > 0 } ? bestOf : 1
        let beams = temperatures.contains { $0 <= 0 } ? beamSize : 1
        return max(1, beams, sampled)
    }

    /// True when the options are within what the decoder accepts; the message names the first that is not.
    public func problem() -> String? {
        if !(1...OptionBounds.maxBeams).contains(beamSize) { return "beam size must be 1...\(OptionBounds.maxBeams), got \(beamSize)" }
        if !(1...OptionBounds.maxBeams).contains(bestOf) { return "best-of must be 1...\(OptionBounds.maxBeams), got \(bestOf)" }
        if !(patience > 0 && patience <= 4) { return "patience must be in (0, 4], got \(patience)" }
        if Double(beamSize) * patience < 0.5 { return "beam size x patience must be at least 1" }
        if !(lengthPenalty >= 0 && lengthPenalty <= 4) { return "length penalty must be 0...4, got \(lengthPenalty)" }
        if temperatures.isEmpty || temperatures.count > 16 { return "give 1 to 16 temperatures" }
        if let t = temperatures.first(where: { !($0 >= 0 && $0 <= 2) }) { return "temperatures must be 0...2, got \(t)" }
        if !(maxInitialTimestamp >= 0 && maxInitialTimestamp <= 30) { return "max initial timestamp must be 0...30 s" }
        for (name, value) in [("compression ratio threshold", compressionRatioThreshold), ("log-prob threshold", logProbThreshold),
                              ("no-speech threshold", noSpeechThreshold)] {
            if let value, !value.isFinite { return "\(name) must be a finite number" }
        }
        return nil
    }
}
