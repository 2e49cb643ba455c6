import EarshotAudio
import EarshotModels
import EarshotRuntime
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// What the routes share: the configuration, the model manager, admission control and metrics.
/// Immutable itself (every mutable part is an actor or synchronised), so it is plainly `Sendable`.
public final class TranscriptionService: Sendable {
    public let configuration: ServerConfiguration
    public let manager: ModelManager
    let admission: AdmissionControl
    let metrics = ServerMetrics()
    /// Open client connections, per address and in total (see `ConnectionGuard`).
    let connections: ConnectionRegistry
    /// Model ids, in the order given.
    let knownModels: [String]
    /// The Qwen3-ASR models among them: with an aligner configured, their timed formats are aligned.
    let qwen3Models: Set<String>
    /// Silero VAD for requests with `vad=true` (nil: none configured or fetched; they are refused).
    let vad: SileroVADModel?
    /// Set when graceful shutdown begins: decodes in flight stop at once instead of holding it up.
    let stopping = StopSignal()

    public init(configuration: ServerConfiguration) async throws {
        try configuration.validate()
        self.configuration = configuration
        manager = ModelManager(configuration: ModelManagerConfiguration(
            memoryBudgetBytes: configuration.budgetMB.map { $0 << 20 },
            idleTimeout: configuration.ttlSeconds > 0 ? .seconds(configuration.ttlSeconds) : nil,
            sessionsPerModel: configuration.maxConcurrency,
            precision: configuration.precision,
            waitForBusyModels: true))
        admission = AdmissionControl(maxRunning: configuration.maxConcurrency, maxWaiting: configuration.queueLimit)
        knownModels = configuration.models.map(\.name)
        connections = ConnectionRegistry(maxTotal: configuration.connections.maxConnections,
                                         maxPerAddress: configuration.connections.maxConnectionsPerIP)
        for m in configuration.models { try await manager.register(m.name, directory: m.path) }
        for aligner in configuration.aligners {
            guard try ModelRegistry.family(of: aligner.path) == .qwen3ForcedAligner else {
                throw ServerConfigurationError.invalidValue("aligner", "\(aligner.path) is not a Qwen3-ForcedAligner checkpoint")
            }
            try await manager.register(aligner.name, directory: aligner.path)
        }
        qwen3Models = Set(configuration.models.filter { (try? ModelRegistry.family(of: $0.path)) == .qwen3ASR }.map(\.name))
        for m in configuration.models where m.aligner != nil && !qwen3Models.contains(m.name) {
            throw ServerConfigurationError.invalidValue("models.\(m.name).aligner", "the forced aligner times Qwen3-ASR transcripts; \(m.name) is not a Qwen3-ASR model")
        }
        // A configured VAD must load (a typo should stop the server, not every VAD request);
        // the fetched default is used when present.
        let fallback = VoiceActivityFilter.defaultModelPath(environment: ProcessInfo.processInfo.environment)
        if let path = configuration.vadModel {
            vad = try SileroVADModel(path: path)
        } else if FileManager.default.fileExists(atPath: fallback) {
            vad = try? SileroVADModel(path: fallback)
        } else {
            vad = nil
        }
    }

    /// Transcribes with the job's model (loaded on demand, switched in under the budget), cancelled
    /// with `timeout` when it runs past the request's deadline (set at admission, so the time
    /// decoding took counts too).
    func transcribe(_ samples: AudioSamples, job: TranscriptionJob, deadline: AudioDecodeLimits.Deadline,
                    onText: (@Sendable (String) -> Void)?) async throws -> TranscriptionResult {
        metrics.noteModelUsed(job.model)
        let fixed = configuration.ignoreEOS
        // Whisper decodes as faster-whisper does by default (timestamps on whatever the format, so
        // every format carries the same text); the fixed-length benchmark mode is greedy.
        var options = TranscriptionOptions(language: job.language, context: job.prompt, maxNewTokens: configuration.maxTokens,
                                           loopGuardRepeats: fixed ? 0 : 20, ignoreEOS: fixed, timestamps: !fixed,
                                           decoding: fixed ? .greedy : .fasterWhisper)
        options.task = job.task
        options.wordTimestamps = job.wordTimestamps
        if job.vad, let vad { options.vad = VoiceActivityFilter(model: vad) }
        // OpenAI's temperature: 0 (the default) raises the temperature while the thresholds fail
        // (Whisper's fallback); above 0, that one temperature.
        if let t = job.temperature, t > 0, !fixed { options.decoding.temperatures = [t] }
        let manager = manager, seconds = deadline.seconds
        let remaining = max(ContinuousClock.now.duration(to: deadline.instant), .zero)
        // The timeout is an event-loop timer, cancelled (and freed) as soon as the work ends. A
        // racing `Task.sleep` child would do the same job, but a cancelled sleep keeps its timer
        // (~800 B) until the original deadline: at a 300 s timeout that retained memory in
        // proportion to the request rate.
        // Qwen3-ASR has no timestamps: with an aligner, the formats that carry times get real ones.
        let aligner = configuration.aligner(for: job.model).flatMap { a in
            qwen3Models.contains(job.model) && (job.wordTimestamps || [.verboseJSON, .srt, .vtt].contains(job.format)) ? a.name : nil
        }
        let granularity: AlignmentGranularity = job.wordTimestamps ? .word : .segment
        let work = Task {
            if let aligner {
                return try await manager.transcribe(samples, model: job.model, options: options, aligner: aligner,
                                                    granularity: granularity, onText: onText)
            }
            return try await manager.transcribe(samples, model: job.model, options: options, onText: onText)
        }
        let timedOut = Mutex(false)
        let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .nanoseconds(remaining.nanosecondsClamped)) {
            timedOut.withLock { $0 = true }
            work.cancel()
        }
        defer { timer.cancel() }
        do {
            return try await withTaskCancellationHandler { try await work.value } onCancel: { work.cancel() }
        } catch {
            if timedOut.withLock({ $0 }) { throw APIError.timeout(seconds: seconds) }
            throw error
        }
    }

    /// The memory report with the models' states, for `/v1/memory`.
    func memory() async -> MemoryDocument {
        MemoryDocument(process: MemoryReport.current(), models: await manager.models, counters: await manager.counters)
    }
}

/// `/v1/memory`: the process's memory report, every model's status and the lifecycle counters.
struct MemoryDocument: Encodable {
    let process: MemoryReport
    let models: [ModelStatus]
    let counters: LifecycleCounters
}

extension TranscriptDocument {
    /// One segment for the whole clip: Qwen3-ASR emits no timestamps (its forced aligner is a
    /// separate model), so a cue spans the audio it transcribes rather than inventing boundaries.
    init(result: TranscriptionResult) {
        let segments: [Segment] = result.segments.isEmpty
            ? [.init(start: 0, end: result.audioSeconds, text: result.text, tokens: result.tokenIDs)]
            : result.segments.map {
                // Zero means "not recorded" in the runtime's segments (Qwen3-ASR records none).
                .init(start: $0.start, end: $0.end, text: $0.text, tokens: $0.tokenIDs,
                      avgLogprob: $0.avgLogprob == 0 ? nil : $0.avgLogprob,
                      temperature: $0.compressionRatio == 0 ? nil : $0.temperature,
                      compressionRatio: $0.compressionRatio == 0 ? nil : $0.compressionRatio,
                      noSpeechProb: $0.noSpeechProb == 0 ? nil : $0.noSpeechProb)
            }
        self.init(text: result.text, language: result.language, duration: result.audioSeconds, segments: segments)
    }

    /// The document of `result` for `job`: its words when the job asked for word granularity,
    /// its segments unless it asked for words only, its task.
    init(result: TranscriptionResult, job: TranscriptionJob) {
        self.init(result: result)
        if job.wordTimestamps {
            words = result.segments.flatMap { $0.words ?? [] }.map { Word(word: $0.word, start: $0.start, end: $0.end) }
        }
        listsSegments = job.segmentTimestamps
        task = job.task.rawValue
    }
}

/// A one-way switch read from any thread (the decode loop polls it).
final class StopSignal: Sendable {
    /// Nanoseconds since `origin` when the signal was set; -1 while unset.
    private let setAt = Atomic<Int64>(-1)
    private let origin = ContinuousClock.now
    var isSet: Bool { setAt.load(ordering: .relaxed) >= 0 }
    func set() { _ = setAt.compareExchange(expected: -1, desired: (ContinuousClock.now - origin).nanosecondsClamped, ordering: .relaxed) }

    /// Whether work that started at `start` has run past `grace` since the later of its start and
    /// the signal.
    func expired(grace: Double, start: ContinuousClock.Instant) -> Bool {
        let at = setAt.load(ordering: .relaxed)
        guard at >= 0 else { return false }
        let signalled = origin.advanced(by: .nanoseconds(at))
        return ContinuousClock.now - max(signalled, start) > .nanoseconds(Int64(min(max(grace, 0), 1e9) * 1e9))
    }
}

extension Duration {
    /// Whole nanoseconds, saturating (a deadline far away must not overflow a timer).
    var nanosecondsClamped: Int64 {
        let (seconds, atto) = components
        guard seconds < Int64.max / 1_000_000_000 - 1 else { return .max }
        return seconds * 1_000_000_000 + atto / 1_000_000_000
    }
}
