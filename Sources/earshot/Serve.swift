import ArgumentParser
import EarshotModels
import EarshotRuntime
import EarshotServer
import EarshotTensor
import Foundation
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve an OpenAI-compatible transcription API (POST /v1/audio/transcriptions).",
        discussion: """
        Models load on demand and switch under the memory budget. Settings come from --config FILE.json,
        then EARSHOT_* environment variables (EARSHOT_MODELS, EARSHOT_PORT, EARSHOT_API_KEY, ...), then flags.
        SIGTERM or SIGINT drains requests in flight, unloads every model and exits 0.
        """)

    @Option(name: .long, parsing: .upToNextOption, help: "Models as [NAME=]DIR_OR_GGUF; NAME is the API model id.")
    var models: [String] = []
    @Option(name: .long, help: "A JSON configuration file (keys as the flags, in snake_case).")
    var config: String?
    @Option(name: .long, help: "Address to listen on (default 127.0.0.1).") var host: String?
    @Option(name: .long, help: "Port (default 8080; 0 picks a free one).") var port: Int?
    @Option(name: .long, help: "Memory budget for all loaded models, in MB.") var budgetMb: Int?
    @Option(name: .long, help: "Unload a model after this many idle seconds (default 300; 0: never).") var ttl: Int?
    @Option(name: .long, help: "Transcriptions running at once (default 1).") var maxConcurrency: Int?
    @Option(name: .long, help: "Requests that may wait for a slot before 429 (default 16).") var queue: Int?
    @Option(name: .long, help: "Require Authorization: Bearer KEY (also EARSHOT_API_KEY).") var apiKey: String?
    @Option(name: .long, help: "Largest upload in MB (default 25).") var maxUploadMb: Int?
    @Option(name: .long, help: "Cancel a transcription after this many seconds (default 300).") var timeout: Double?
    @Option(name: .long, help: "Refuse audio longer than this many seconds (default 7200; 0: any length).")
    var maxAudioSeconds: Double?
    @Option(name: .long, help: "The ffmpeg executable for non-WAV uploads (default: ffmpeg on PATH).") var ffmpeg: String?
    @Option(name: .long, help: "Silero VAD ONNX file for requests with vad=true (default: the fetched one, when present).") var vadModel: String?
    @Option(name: .long, help: "[NAME=]PATH of a Qwen3-ForcedAligner: Qwen3-ASR models then answer timestamp_granularities[], srt, vtt and verbose_json with real word and segment times.") var aligner: String?
    @Option(name: .long, help: "Maximum generated tokens per 20-minute pass (default 1024).") var maxTokens: Int?
    @Option(name: [.customLong("precision"), .customLong("quant")],
            help: "Weight precision at load: \(WeightPrecision.names) (default: native).") var precision: WeightPrecision?
    @Option(name: .long, help: "Compute threads (default: all cores).") var threads: Int?
    @Flag(name: .long, help: "Decode exactly --max-tokens per request (fixed work, for load tests).") var ignoreEos = false
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"

    func validate() throws {
        try checkOption(port, OptionBounds.port, "--port")
        try checkOption(budgetMb, OptionBounds.budgetMB, "--budget-mb")
        try checkOption(ttl, OptionBounds.ttlSeconds, "--ttl")
        try checkOption(maxConcurrency, OptionBounds.maxConcurrency, "--max-concurrency")
        try checkOption(queue, OptionBounds.queue, "--queue")
        try checkOption(maxUploadMb, OptionBounds.maxUploadMB, "--max-upload-mb")
        try checkOption(timeout, OptionBounds.timeoutSeconds, "--timeout")
        try checkOption(maxTokens, OptionBounds.maxTokens, "--max-tokens")
        try checkOption(threads, OptionBounds.threads, "--threads")
    }

    func run() async throws {
        var settings = ServerConfiguration()
        do {
            if let config { settings = try ServerConfiguration.load(file: config) }
            try settings.apply(environment: ProcessInfo.processInfo.environment)
        } catch { throw fail("earshot serve: \(error)") }
        if !models.isEmpty { settings.models = models.map(ServerConfiguration.ModelSpec.init(parsing:)) }
        if let host { settings.host = host }
        if let port { settings.port = port }
        if let budgetMb { settings.budgetMB = budgetMb }
        if let ttl { settings.ttlSeconds = ttl }
        if let maxConcurrency { settings.maxConcurrency = maxConcurrency }
        if let queue { settings.queueLimit = queue }
        if let apiKey { settings.apiKey = apiKey }
        if let maxUploadMb { settings.maxUploadMB = maxUploadMb }
        if let timeout { settings.timeoutSeconds = timeout }
        if let maxAudioSeconds { settings.maxAudioSeconds = maxAudioSeconds }
        if let ffmpeg { settings.ffmpeg = ffmpeg }
        if let vadModel { settings.vadModel = vadModel }
        if let aligner { settings.aligner = .init(parsing: aligner) }
        if let maxTokens { settings.maxTokens = maxTokens }
        if let precision { settings.precision = precision }
        if let threads { settings.threads = threads }
        if ignoreEos { settings.ignoreEOS = true }
        // Every setting checked before any is used (threads are set before the service starts).
        do { try settings.validate() } catch { throw fail("earshot serve: \(error)") }

        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "earshot.server")
        if let t = settings.threads { Kernels.setThreadCount(t) }
        let service: TranscriptionService
        do { service = try await TranscriptionService(configuration: settings) } catch {
            throw fail("earshot serve: \(error)")
        }
        let host = settings.host
        try await EarshotServer.run(service: service, logger: logger) { port in
            // One line on stdout, for scripts that start the server with --port 0.
            FileHandle.standardOutput.write(Data("earshot: listening on http://\(host):\(port)\n".utf8))
        }
    }
}
