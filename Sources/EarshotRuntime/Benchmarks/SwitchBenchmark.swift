import EarshotAudio

/// The switching experiment behind `earshot bench switch`: every iteration loads a model,
/// transcribes a clip, unloads it (models alternate), and records the process's memory around
/// each step. Flat memory over hundreds of switches is Earshot's founding promise; this is how
/// it is measured.
public struct SwitchBenchmark: Sendable {
    /// (name, directory) pairs, used in turn.
    public var models: [(name: String, directory: String)]
    public var audio: AudioSamples
    /// What the clip says, for WER; nil skips WER.
    public var reference: String?
    public var options: TranscriptionOptions

    public init(models: [(name: String, directory: String)], audio: AudioSamples, reference: String? = nil,
                options: TranscriptionOptions = .init(maxNewTokens: 32)) {
        self.models = models
        self.audio = audio
        self.reference = reference
        self.options = options
    }

    /// Runs `iterations` switches through a fresh `ModelManager`; `progress` sees each finished step.
    public func run(iterations: Int, progress: (SwitchStep) -> Void = { _ in }) async throws(RuntimeError) -> [SwitchStep] {
        let manager = ModelManager(configuration: .init(trimAfterUnload: true))
        for m in models { try await manager.register(m.name, directory: m.directory) }
        var steps: [SwitchStep] = []
        steps.reserveCapacity(iterations)
        let clock = ContinuousClock()
        for i in 0..<iterations {
            let name = models[i % models.count].name
            let beforeLoad = MemoryReport.current()
            var t = clock.now
            try await manager.load(name)
            let loadMs = (clock.now - t).milliseconds
            let afterLoad = MemoryReport.current()
            t = clock.now
            let result = try await manager.transcribe(audio, model: name, options: options)
            let transcribeMs = (clock.now - t).milliseconds
            let afterTranscribe = MemoryReport.current()
            t = clock.now
            try await manager.unload(name)
            let unloadMs = (clock.now - t).milliseconds
            let afterUnload = MemoryReport.current()
            let step = SwitchStep(
                iteration: i, model: name, beforeLoad: beforeLoad, afterLoad: afterLoad, afterTranscribe: afterTranscribe,
                afterUnload: afterUnload, loadMs: loadMs, ttftMs: result.timings.ttftMs, transcribeMs: transcribeMs,
                unloadMs: unloadMs, text: result.text,
                wer: reference.map { WordErrorRate.compute(reference: $0, hypothesis: result.text) })
            steps.append(step)
            progress(step)
        }
        return steps
    }

    /// Restart mode: loads `model` once, then `count` times resets its session and transcribes
    /// again. Returns the memory after the warm-up request and after every restart + request.
    public func restarts(model: String, count: Int,
                         progress: (Int, MemoryReport) -> Void = { _, _ in }) async throws(RuntimeError) -> [MemoryReport] {
        guard let entry = models.first(where: { $0.name == model }) else {
            throw .unknownModel(model, known: models.map(\.name))
        }
        let manager = ModelManager(configuration: .init(trimAfterUnload: true))
        try await manager.register(entry.name, directory: entry.directory)
        try await manager.load(model)
        _ = try await manager.transcribe(audio, model: model, options: options)
        var reports = [MemoryReport.current()]
        reports.reserveCapacity(count + 1)
        for i in 0..<count {
            try await manager.restart(model)
            _ = try await manager.transcribe(audio, model: model, options: options)
            let r = MemoryReport.current()
            reports.append(r)
            progress(i, r)
        }
        try await manager.unload(model)
        return reports
    }
}
