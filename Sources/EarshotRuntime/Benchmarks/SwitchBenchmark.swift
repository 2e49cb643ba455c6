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
        // The records are written into storage filled *before* the first measurement: appending
        // to a reserved array would touch a fresh page every few records, and that growth of the
        // benchmark's own bookkeeping (~0.6 KB per switch) would be measured as the runtime's.
        let blank = MemoryReport()
        var steps = [SwitchStep](repeating: SwitchStep(
            iteration: 0, model: "", beforeLoad: blank, afterLoad: blank, afterTranscribe: blank, afterUnload: blank,
            loadMs: 0, ttftMs: 0, transcribeMs: 0, unloadMs: 0, text: "", wer: nil), count: iterations)
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
            steps[i] = step
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
        // Filled before the first measurement, for the reason given in `run`.
        var reports = [MemoryReport](repeating: MemoryReport(), count: count + 1)
        reports[0] = MemoryReport.current()
        for i in 0..<count {
            try await manager.restart(model)
            _ = try await manager.transcribe(audio, model: model, options: options)
            let r = MemoryReport.current()
            reports[i + 1] = r
            progress(i, r)
        }
        try await manager.unload(model)
        return reports
    }
}
