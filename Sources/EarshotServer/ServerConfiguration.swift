import EarshotModels
import EarshotRuntime
import Foundation

/// Everything `earshot serve` can be told, from a JSON file, environment variables and flags
/// (later sources win: file, then environment, then flags). Keys mirror the flags in snake_case:
///
///     {"models": ["tiny=/models/tiny", "/models/qwen3-asr-1.7b.gguf"], "port": 8080,
///      "budget_mb": 4096, "ttl": 300, "max_concurrency": 1, "queue": 16, "api_key": "..."}
public struct ServerConfiguration: Sendable, Codable, Equatable {
    /// A model the server may load: its API id and its directory or GGUF file.
    public struct ModelSpec: Sendable, Codable, Equatable {
        public var name: String
        public var path: String
        /// This model's own Qwen3-ForcedAligner, `[NAME=]PATH` (a Qwen3-ASR model only; it takes
        /// the place of the server-wide `aligner` for this model).
        public var aligner: String?
        public init(name: String, path: String, aligner: String? = nil) {
            self.name = name
            self.path = path
            self.aligner = aligner
        }

        /// `aligner` parsed as a spec.
        public var alignerSpec: ModelSpec? { aligner.map { ModelSpec(parsing: $0) } }

        /// `NAME=PATH`, or a bare `PATH` named after its last component without extension.
        public init(parsing text: String) {
            if let eq = text.firstIndex(of: "="), eq != text.startIndex {
                name = String(text[..<eq])
                path = String(text[text.index(after: eq)...])
            } else {
                path = text
                let last = URL(fileURLWithPath: text).lastPathComponent
                name = last.hasSuffix(".gguf") ? String(last.dropLast(5)) : last
            }
        }

        // In a file a model is either "NAME=PATH" / "PATH" or {"name": ..., "path": ..., "aligner": "[NAME=]PATH"}.
        public init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                self.init(parsing: text)
                return
            }
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(name: try c.decode(String.self, forKey: .name), path: try c.decode(String.self, forKey: .path),
                      aligner: try c.decodeIfPresent(String.self, forKey: .aligner))
        }
    }

    public var models: [ModelSpec] = []
    /// A Qwen3-ForcedAligner that times Qwen3-ASR transcripts for `timestamp_granularities[]` and
    /// the srt, vtt and verbose_json formats (nil: Qwen3-ASR answers with one segment per clip).
    /// Registered with the model manager under its name like any model, but not requestable.
    /// A model's own `aligner` (`ModelSpec.aligner`) takes its place for that model.
    public var aligner: ModelSpec?

    /// The aligner that times `model`'s transcripts: its own, else the server-wide one.
    public func aligner(for model: String) -> ModelSpec? {
        models.first { $0.name == model }?.alignerSpec ?? aligner
    }

    /// Every aligner to register, once per id.
    public var aligners: [ModelSpec] {
        var seen = Set<String>()
        return ([aligner] + models.map(\.alignerSpec)).compactMap { $0 }.filter { seen.insert($0.name).inserted }
    }
    public var host = "127.0.0.1"
    /// 0 asks the kernel for a free port (the bound port is printed once listening).
    public var port = 8080
    /// Resident bytes all loaded models may use together; nil: only the machine's free memory.
    public var budgetMB: Int?
    /// Unload a model this many seconds after its last use; 0 keeps models loaded.
    public var ttlSeconds = 300
    /// Transcriptions running at once (across models); each model keeps this many sessions at most.
    public var maxConcurrency = 1
    /// Requests that may wait for a slot; more get 429.
    public var queueLimit = 16
    /// When set, every request but `/health` needs `Authorization: Bearer KEY`.
    public var apiKey: String?
    public var maxUploadMB = 25
    /// A transcription that takes longer from the moment it is admitted (model load and session
    /// wait included; the admission queue is bounded by `queueLimit` instead) is cancelled with 504.
    public var timeoutSeconds: Double = 300
    /// Longest audio accepted, in seconds (read from headers before decoding where they declare
    /// it, and enforced while decoding); 0 accepts any length.
    public var maxAudioSeconds: Double = 7200
    /// After SIGTERM, a decode still running this long after the signal (or after it started, if
    /// later) is killed, so a decoder that never ends cannot hold shutdown; ordinary decodes of
    /// requests already accepted finish as before. Not a file or flag setting (tests shorten it).
    public var shutdownDecodeGraceSeconds: Double = 10
    /// The ffmpeg executable for non-WAV uploads; nil looks for `ffmpeg` on PATH.
    public var ffmpeg: String?
    /// Silero VAD ONNX file for requests with `vad=true`; nil uses the fetched one
    /// (`VoiceActivityFilter.defaultModelPath`) when it exists, else such requests are refused.
    public var vadModel: String?
    public var maxTokens = 1024
    /// Weight precision at load: native (as stored, in place), f32, q8 or q4 (key `precision`, or
    /// `quant` as in older files; `WeightPrecision(name:)` reads both the names and their aliases).
    public var precision: WeightPrecision = .inPlace
    /// Compute threads (nil: every core).
    public var threads: Int?
    /// Decode exactly `maxTokens` tokens per pass, ignoring end-of-text and the repetition guard:
    /// fixed work per request, for load tests and benchmarks. Off for real use.
    public var ignoreEOS = false
    /// Timeouts, connection counts and header sizes per client connection (flat keys, see `ConnectionLimits`).
    public var connections = ConnectionLimits()

    public init() {}

    enum AliasKeys: String, CodingKey { case quant }

    enum CodingKeys: String, CodingKey {
        case models, aligner, host, port, precision, threads, ffmpeg, vadModel = "vad_model", ignoreEOS = "ignore_eos", maxAudioSeconds = "max_audio_seconds"
        case budgetMB = "budget_mb", ttlSeconds = "ttl", maxConcurrency = "max_concurrency", queueLimit = "queue"
        case apiKey = "api_key", maxUploadMB = "max_upload_mb", timeoutSeconds = "timeout", maxTokens = "max_tokens"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ServerConfiguration()
        models = try c.decodeIfPresent([ModelSpec].self, forKey: .models) ?? d.models
        aligner = try c.decodeIfPresent(ModelSpec.self, forKey: .aligner)
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? d.host
        port = try c.decodeIfPresent(Int.self, forKey: .port) ?? d.port
        budgetMB = try c.decodeIfPresent(Int.self, forKey: .budgetMB)
        ttlSeconds = try c.decodeIfPresent(Int.self, forKey: .ttlSeconds) ?? d.ttlSeconds
        maxConcurrency = try c.decodeIfPresent(Int.self, forKey: .maxConcurrency) ?? d.maxConcurrency
        queueLimit = try c.decodeIfPresent(Int.self, forKey: .queueLimit) ?? d.queueLimit
        apiKey = try c.decodeIfPresent(String.self, forKey: .apiKey)
        maxUploadMB = try c.decodeIfPresent(Int.self, forKey: .maxUploadMB) ?? d.maxUploadMB
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? d.timeoutSeconds
        maxAudioSeconds = try c.decodeIfPresent(Double.self, forKey: .maxAudioSeconds) ?? d.maxAudioSeconds
        ffmpeg = try c.decodeIfPresent(String.self, forKey: .ffmpeg)
        vadModel = try c.decodeIfPresent(String.self, forKey: .vadModel)
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens) ?? d.maxTokens
        // `quant` is the older key for the same setting; `precision` wins when both are given.
        let alias = try decoder.container(keyedBy: AliasKeys.self)
        if let name = try alias.decodeIfPresent(String.self, forKey: .quant) {
            guard let p = WeightPrecision(name: name) else {
                throw DecodingError.dataCorruptedError(forKey: .quant, in: alias, debugDescription:
                    "unknown precision '\(name)' (expected \(WeightPrecision.names))")
            }
            precision = p
        }
        if let name = try c.decodeIfPresent(String.self, forKey: .precision) {
            guard let p = WeightPrecision(name: name) else {
                throw DecodingError.dataCorruptedError(forKey: .precision, in: c, debugDescription:
                    "unknown precision '\(name)' (expected \(WeightPrecision.names))")
            }
            precision = p
        }
        threads = try c.decodeIfPresent(Int.self, forKey: .threads)
        ignoreEOS = try c.decodeIfPresent(Bool.self, forKey: .ignoreEOS) ?? d.ignoreEOS
        connections = try ConnectionLimits(from: decoder)
    }

    /// Reads a JSON configuration file; unknown keys are ignored, wrong types are errors.
    public static func load(file path: String) throws(ServerConfigurationError) -> ServerConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
        do { return try JSONDecoder().decode(ServerConfiguration.self, from: data) } catch {
            throw .invalidFile(path, "\(error)")
        }
    }

    /// Overlays `EARSHOT_*` variables: MODELS (comma separated), HOST, PORT, BUDGET_MB, TTL,
    /// MAX_CONCURRENCY, QUEUE, API_KEY, MAX_UPLOAD_MB, TIMEOUT, MAX_AUDIO_SECONDS, FFMPEG, MAX_TOKENS, PRECISION
    /// (or QUANT), THREADS, IGNORE_EOS.
    public mutating func apply(environment env: [String: String]) throws(ServerConfigurationError) {
        func int(_ key: String) throws(ServerConfigurationError) -> Int? {
            guard let text = env["EARSHOT_" + key] else { return nil }
            guard let value = Int(text) else { throw .invalidValue("EARSHOT_" + key, text) }
            return value
        }
        if let m = env["EARSHOT_MODELS"] {
            models = m.split(separator: ",").map { ModelSpec(parsing: String($0).trimmingCharacters(in: .whitespaces)) }
        }
        if let v = env["EARSHOT_HOST"] { host = v }
        if let v = try int("PORT") { port = v }
        if let v = try int("BUDGET_MB") { budgetMB = v }
        if let v = try int("TTL") { ttlSeconds = v }
        if let v = try int("MAX_CONCURRENCY") { maxConcurrency = v }
        if let v = try int("QUEUE") { queueLimit = v }
        if let v = env["EARSHOT_API_KEY"] { apiKey = v.isEmpty ? nil : v }
        if let v = try int("MAX_UPLOAD_MB") { maxUploadMB = v }
        if let v = env["EARSHOT_TIMEOUT"] {
            guard let seconds = Double(v) else { throw .invalidValue("EARSHOT_TIMEOUT", v) }
            timeoutSeconds = seconds
        }
        if let v = env["EARSHOT_MAX_AUDIO_SECONDS"] {
            guard let seconds = Double(v) else { throw .invalidValue("EARSHOT_MAX_AUDIO_SECONDS", v) }
            maxAudioSeconds = seconds
        }
        if let v = env["EARSHOT_FFMPEG"] { ffmpeg = v.isEmpty ? nil : v }
        if let v = env["EARSHOT_VAD_MODEL"] { vadModel = v.isEmpty ? nil : v }
        if let v = try int("MAX_TOKENS") { maxTokens = v }
        for key in ["EARSHOT_QUANT", "EARSHOT_PRECISION"] {
            guard let v = env[key] else { continue }
            guard let p = WeightPrecision(name: v) else {
                throw .invalidValue(key, v + " (expected \(WeightPrecision.names))")
            }
            precision = p
        }
        if let v = try int("THREADS") { threads = v }
        if let v = env["EARSHOT_IGNORE_EOS"] { ignoreEOS = ["1", "true", "yes"].contains(v.lowercased()) }
        try connections.apply(environment: env)
    }

    /// Rejects settings that cannot work, naming the setting.
    public func validate() throws(ServerConfigurationError) {
        guard !models.isEmpty else { throw .invalidValue("models", "none given (pass --models [NAME=]PATH ...)") }
        var seen = Set<String>()
        for m in models {
            try ModelID.validate(m.name)
            guard seen.insert(m.name).inserted else { throw .invalidValue("models", "model id '\(m.name)' given twice") }
            guard FileManager.default.fileExists(atPath: m.path) else {
                throw .invalidValue("models", "\(m.name): no such file or directory: \(m.path)")
            }
        }
        // Aligners (the server-wide one and the models' own): ids apart from the models', one path per id.
        var alignerPaths: [String: String] = [:]
        for (key, a) in [("aligner", aligner)] + models.map({ ("models.\($0.name).aligner", $0.alignerSpec) }) {
            guard let a else { continue }
            try ModelID.validate(a.name)
            guard !seen.contains(a.name) else {
                throw .invalidValue(key, "id '\(a.name)' is also a model's; give the aligner its own")
            }
            guard FileManager.default.fileExists(atPath: a.path) else {
                throw .invalidValue(key, "\(a.name): no such file or directory: \(a.path)")
            }
            if let other = alignerPaths.updateValue(a.path, forKey: a.name), other != a.path {
                throw .invalidValue(key, "aligner id '\(a.name)' names two paths (\(other), \(a.path))")
            }
        }
        // Numbers: the bounds every entry point shares (OptionBounds), named as in the file.
        try Self.check(port, OptionBounds.port, "port")
        if let b = budgetMB { try Self.check(b, OptionBounds.budgetMB, "budget_mb") }
        try Self.check(ttlSeconds, OptionBounds.ttlSeconds, "ttl")
        try Self.check(maxConcurrency, OptionBounds.maxConcurrency, "max_concurrency")
        try Self.check(queueLimit, OptionBounds.queue, "queue")
        try Self.check(maxUploadMB, OptionBounds.maxUploadMB, "max_upload_mb")
        try Self.check(timeoutSeconds, OptionBounds.timeoutSeconds, "timeout")
        guard maxAudioSeconds >= 0, maxAudioSeconds.isFinite else {
            throw .invalidValue("max_audio_seconds", "\(maxAudioSeconds) (seconds >= 0; 0 accepts any length)")
        }
        if let ffmpeg, !FileManager.default.isExecutableFile(atPath: ffmpeg) {
            throw .invalidValue("ffmpeg", "\(ffmpeg) is not an executable file")
        }
        try Self.check(maxTokens, OptionBounds.maxTokens, "max_tokens")
        if let t = threads { try Self.check(t, OptionBounds.threads, "threads") }
        try connections.validate()
    }
}

extension ServerConfiguration {
    /// `value` within `bound`, or `invalidValue` naming `key` and the allowed range.
    static func check(_ value: Int, _ bound: OptionBound, _ key: String) throws(ServerConfigurationError) {
        guard bound.range.contains(value) else { throw .invalidValue(key, "\(value) (allowed: \(bound.allowed))") }
    }

    static func check(_ value: Double, _ bound: RealOptionBound, _ key: String) throws(ServerConfigurationError) {
        guard bound.range.contains(value) else { throw .invalidValue(key, "\(value) (allowed: \(bound.allowed))") }
    }
}

public enum ServerConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(String)
    case invalidFile(String, String)
    case invalidValue(String, String)

    public var description: String {
        switch self {
        case .unreadable(let p): return "cannot read configuration file \(p)"
        case .invalidFile(let p, let why): return "invalid configuration file \(p): \(why)"
        case .invalidValue(let key, let value): return "invalid \(key): \(value)"
        }
    }
}
