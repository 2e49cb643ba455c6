import ArgumentParser
import EarshotModels
import EarshotRuntime
import Foundation

/// Voice activity detection (faster-whisper's `vad_filter` and `VadOptions`, same defaults).
struct VADFlags: ParsableArguments {
    @Flag(name: .long, help: "Transcribe only speech found by Silero VAD v6; timestamps stay on the original timeline.")
    var vad = false

    @Option(name: .long, help: "Silero VAD ONNX file (default: $EARSHOT_VAD_MODEL, else the cache of scripts/fetch-whisper-models --models silero-vad).")
    var vadModel: String?

    @Option(name: .long, help: "VAD: speech probability threshold.")
    var vadThreshold: Double = 0.5

    @Option(name: .long, help: "VAD: silence shorter than this (ms) does not end speech.")
    var vadMinSilenceMs: Int = 2000

    @Option(name: .long, help: "VAD: padding added on each side of speech (ms).")
    var vadSpeechPadMs: Int = 400

    @Option(name: .long, help: "VAD: speech shorter than this (ms) is dropped.")
    var vadMinSpeechMs: Int = 0

    @Option(name: .long, help: "VAD: longer speech is split (seconds; default: never).")
    var vadMaxSpeechS: Double = .infinity

    var options: VADOptions {
        var o = VADOptions()
        o.threshold = vadThreshold
        o.minSilenceDurationMs = vadMinSilenceMs
        o.speechPadMs = vadSpeechPadMs
        o.minSpeechDurationMs = vadMinSpeechMs
        o.maxSpeechDurationS = vadMaxSpeechS
        return o
    }

    var modelPath: String { vadModel ?? VoiceActivityFilter.defaultModelPath(environment: ProcessInfo.processInfo.environment) }

    /// The filter when --vad is given (the model loaded now), else nil.
    func filter() throws(ModelError) -> VoiceActivityFilter? {
        guard vad else { return nil }
        return VoiceActivityFilter(model: try SileroVADModel(path: modelPath), options: options)
    }

    func validate() throws {
        if let problem = options.problem() { throw ValidationError(problem) }
        if vadModel != nil, !vad { throw ValidationError("--vad-model needs --vad") }
    }
}
