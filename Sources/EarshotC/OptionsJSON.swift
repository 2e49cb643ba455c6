import EarshotModels
import EarshotRuntime
import Foundation

/// A JSON options object read strictly: each key is taken once with its expected type, and any
/// key left over is an error naming it (a misspelt option must not be silently ignored).
struct OptionsJSON {
    private enum Value: Decodable {
        case bool(Bool), int(Int), number(Double), string(String), null, other

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let i = try? c.decode(Int.self) { self = .int(i) }
            else if let d = try? c.decode(Double.self) { self = .number(d) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else { self = .other }
        }
    }

    private var values: [String: Value]
    private let what: String

    /// Parses `json` (NULL or empty: no options). `what` names the options in messages.
    init(_ json: UnsafePointer<CChar>?, what: String) throws(ABIError) {
        self.what = what
        guard let json, json.pointee != 0 else {
            values = [:]
            return
        }
        let text = String(cString: json)
        do {
            values = try JSONDecoder().decode([String: Value].self, from: Data(text.utf8))
        } catch {
            throw .invalidArgument("\(what) must be a JSON object, e.g. {\"language\": \"English\"}; got \(Self.excerpt(text))")
        }
    }

    mutating func string(_ key: String) throws(ABIError) -> String? {
        switch values.removeValue(forKey: key) {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw .invalidArgument("\(what): '\(key)' must be a string")
        }
    }

    /// An integer within `bound` (the same `OptionBounds` the CLI and the server check). JSON numbers
    /// beyond Int's range, fractions and strings are refused with the same message.
    mutating func int(_ key: String, in bound: OptionBound) throws(ABIError) -> Int? {
        switch values.removeValue(forKey: key) {
        case nil, .null?: return nil
        case .int(let i)? where bound.range.contains(i): return i
        default: throw .invalidArgument("\(what): '\(key)' must be an integer in \(bound.allowed)")
        }
    }

    /// A number within `bound` (integers and fractions alike); NaN cannot be written in JSON and
    /// anything out of range, including beyond Double's, is refused with the bound in the message.
    mutating func real(_ key: String, in bound: RealOptionBound) throws(ABIError) -> Double? {
        let value: Double
        switch values.removeValue(forKey: key) {
        case nil, .null?: return nil
        case .int(let i)?: value = Double(i)
        case .number(let d)?: value = d
        default: throw .invalidArgument("\(what): '\(key)' must be a number in \(bound.allowed)")
        }
        guard bound.range.contains(value) else {
            throw .invalidArgument("\(what): '\(key)' must be a number in \(bound.allowed)")
        }
        return value
    }

    mutating func bool(_ key: String) throws(ABIError) -> Bool? {
        switch values.removeValue(forKey: key) {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw .invalidArgument("\(what): '\(key)' must be true or false")
        }
    }

    /// Fails on keys nobody asked for, listing the known ones.
    func finish(known: [String]) throws(ABIError) {
        guard let unknown = values.keys.sorted().first else { return }
        throw .invalidArgument("\(what): unknown option '\(unknown)'; known: \(known.joined(separator: ", "))")
    }

    private static func excerpt(_ s: String) -> String {
        s.count <= 80 ? "'\(s)'" : "'\(s.prefix(80))...'"
    }
}

extension OptionsJSON {
    static let loadKeys = ["precision"]
    static let transcribeKeys = ["language", "context", "max_tokens", "loop_guard_repeats", "timestamps",
                                 "max_audio_seconds", "greedy", "beam_size", "best_of", "temperature", "seed",
                                 "condition_on_previous_text", "task", "word_timestamps", "vad", "vad_model",
                                 "aligner_session", "granularity"]
    static let alignKeys = ["language", "max_audio_seconds"]

    /// What `earshot_transcribe_*` options ask for.
    struct Transcription {
        var options: TranscriptionOptions
        /// The longest audio accepted (nil: any length), which bounds decoding rather than the model.
        var maxAudioSeconds: Double?
        /// A Qwen3-ForcedAligner session that times the transcript (Qwen3-ASR), and what it adds.
        var alignerSession: UInt64?
        var granularity: AlignmentGranularity = .word
    }

    /// `earshot_align_*` options: {"language": name, "max_audio_seconds": n}.
    static func alignment(_ json: UnsafePointer<CChar>?) throws(ABIError) -> (language: String?, maxAudioSeconds: Double?) {
        var o = try OptionsJSON(json, what: "alignment options")
        let language = try o.string("language")
        let maxAudioSeconds = try o.real("max_audio_seconds", in: OptionBounds.maxAudioSeconds)
        try o.finish(known: alignKeys)
        return (language, maxAudioSeconds)
    }

    /// `earshot_model_load` options: {"precision": "native" | "bf16" | "f32" | "q8" | "q4"}.
    static func precision(_ json: UnsafePointer<CChar>?) throws(ABIError) -> WeightPrecision {
        var o = try OptionsJSON(json, what: "load options")
        let name = try o.string("precision")
        try o.finish(known: loadKeys)
        guard let name else { return .inPlace }
        guard let precision = WeightPrecision(name: name) else {
            throw .invalidArgument("load options: unknown precision '\(name)'; use \(WeightPrecision.names)")
        }
        return precision
    }

    /// `earshot_transcribe_*` options (see earshot.h).
    static func transcription(_ json: UnsafePointer<CChar>?) throws(ABIError) -> Transcription {
        var o = try OptionsJSON(json, what: "transcription options")
        var t = TranscriptionOptions()
        t.language = try o.string("language")
        t.context = try o.string("context") ?? ""
        t.maxNewTokens = try o.int("max_tokens", in: OptionBounds.maxTokens) ?? t.maxNewTokens
        t.loopGuardRepeats = try o.int("loop_guard_repeats", in: OptionBounds.loopGuardRepeats) ?? t.loopGuardRepeats
        // Whisper decoding: faster-whisper's defaults; "greedy" is one argmax pass without timestamps
        // (the other keys then refine it); "temperature" is the one temperature tried (no fallback).
        let greedy = try o.bool("greedy") ?? false
        if greedy { t.decoding = .greedy }
        t.timestamps = try o.bool("timestamps") ?? !greedy
        t.decoding.beamSize = try o.int("beam_size", in: OptionBounds.beams) ?? t.decoding.beamSize
        t.decoding.bestOf = try o.int("best_of", in: OptionBounds.beams) ?? t.decoding.bestOf
        if let temperature = try o.real("temperature", in: OptionBounds.temperature) { t.decoding.temperatures = [temperature] }
        if let seed = try o.int("seed", in: OptionBounds.seed) { t.decoding.seed = UInt64(seed) }
        t.decoding.conditionOnPreviousText = try o.bool("condition_on_previous_text") ?? t.decoding.conditionOnPreviousText
        t.wordTimestamps = try o.bool("word_timestamps") ?? false
        if let task = try o.string("task") {
            guard let parsed = TranscriptionTask(rawValue: task) else {
                throw .invalidArgument("transcription options: unknown task '\(task)'; use transcribe or translate")
            }
            t.task = parsed
        }
        // Voice activity detection: the fetched Silero VAD unless "vad_model" names a file; loaded
        // per call (1.2 MB, a few ms) and released with the options.
        let vadModel = try o.string("vad_model")
        if try o.bool("vad") ?? false {
            let path = vadModel ?? VoiceActivityFilter.defaultModelPath(environment: ProcessInfo.processInfo.environment)
            do { t.vad = VoiceActivityFilter(model: try SileroVADModel(path: path)) } catch {
                throw ABIError(.model, "VAD model: \(error)")
            }
        } else if vadModel != nil {
            throw .invalidArgument("transcription options: vad_model needs \"vad\": true")
        }
        let maxAudioSeconds = try o.real("max_audio_seconds", in: OptionBounds.maxAudioSeconds)
        var request = Transcription(options: t, maxAudioSeconds: maxAudioSeconds)
        if let handle = try o.int("aligner_session", in: OptionBound(1...Int.max, unit: "session handle")) {
            request.alignerSession = UInt64(handle)
        }
        if let g = try o.string("granularity") {
            guard let parsed = AlignmentGranularity(rawValue: g) else {
                throw .invalidArgument("transcription options: granularity must be word or segment, got '\(g)'")
            }
            guard request.alignerSession != nil else {
                throw .invalidArgument("transcription options: granularity needs \"aligner_session\"")
            }
            request.granularity = parsed
        }
        try o.finish(known: transcribeKeys)
        return request
    }
}
