import ArgumentParser
import EarshotRuntime

/// Whisper's search options, as faster-whisper names them; the defaults are faster-whisper's.
/// Qwen3-ASR decodes greedily and ignores them.
struct DecodingFlags: ParsableArguments {
    @Option(name: .long, help: "Whisper: beams at temperature 0 (1: greedy).")
    var beamSize: Int = WhisperDecodingOptions.fasterWhisper.beamSize

    @Option(name: .long, help: "Whisper: candidates sampled at each temperature above 0.")
    var bestOf: Int = WhisperDecodingOptions.fasterWhisper.bestOf

    @Option(name: .long, help: "Whisper: beam search patience (stops after beam-size x patience finished hypotheses).")
    var patience: Double = WhisperDecodingOptions.fasterWhisper.patience

    @Option(name: .long, help: "Whisper: hypothesis score = log-probability / length^penalty.")
    var lengthPenalty: Double = WhisperDecodingOptions.fasterWhisper.lengthPenalty

    @Option(name: .long, parsing: .upToNextOption,
            help: "Whisper: temperatures tried in turn while a window fails the thresholds (default 0 0.2 0.4 0.6 0.8 1).")
    var temperature: [Double] = WhisperDecodingOptions.fasterWhisper.temperatures

    @Option(name: .long, help: "Whisper: retry a window whose text compresses better than this (zlib ratio).")
    var compressionRatioThreshold: Double = 2.4

    @Option(name: .long, help: "Whisper: retry a window whose mean log-probability is below this.")
    var logProbThreshold: Double = -1

    @Option(name: .long, help: "Whisper: a window more likely silent than this (and not confidently decoded) gives no text.")
    var noSpeechThreshold: Double = 0.6

    @Flag(name: .long, help: "Whisper: do not prompt each window with the text before it.")
    var noConditionOnPreviousText = false

    @Option(name: .long, help: "Whisper: seed of the sampler at temperatures above 0 (same seed, same text).")
    var seed: UInt64 = 0

    @Flag(name: .long, help: "Whisper: decode without timestamps (one segment per 30 s window).")
    var withoutTimestamps = false

    @Flag(name: .long, help: "Whisper: one argmax pass per window, no fallback, no timestamps, no previous-text prompt (= --beam-size 1 --temperature 0 --without-timestamps --no-condition-on-previous-text).")
    var greedy = false

    /// The options as given; `--greedy` wins over the search flags.
    var decoding: WhisperDecodingOptions {
        if greedy { return .greedy }
        var o = WhisperDecodingOptions.fasterWhisper
        o.beamSize = beamSize
        o.bestOf = bestOf
        o.patience = patience
        o.lengthPenalty = lengthPenalty
        o.temperatures = temperature
        o.compressionRatioThreshold = compressionRatioThreshold
        o.logProbThreshold = logProbThreshold
        o.noSpeechThreshold = noSpeechThreshold
        o.conditionOnPreviousText = !noConditionOnPreviousText
        o.seed = seed
        return o
    }

    var timestampsOn: Bool { !greedy && !withoutTimestamps }

    func validate() throws {
        if let problem = decoding.problem() { throw ValidationError(problem) }
    }
}
