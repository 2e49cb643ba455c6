import EarshotAudio
import EarshotRuntime

/// The switching experiment behind `earshot bench switch`: every iteration loads a model,
/// transcribes a clip, unloads it (models alternate), and records the process's memory around
/// each step. Flat memory over hundreds of switches is Earshot's founding promise; this is how
/// it is measured.
///
/// With several clips (a speech set) each model goes through them in turn: a model's k-th switch
/// transcribes clip k mod count, so every model hears every clip, and its WER over the run can be
/// compared with `earshot bench wer` on the same set.
public struct SwitchBenchmark: Sendable {
    /// One recording transcribed at a switch, with what it says (nil: no WER).
    public struct Clip: Sendable {
        public var name: String
        public var samples: AudioSamples
        public var reference: String?

        public init(name: String, samples: AudioSamples, reference: String? = nil) {
            self.name = name
            self.samples = samples
            self.reference = reference
        }
    }

    /// (name, directory) pairs, used in turn.
    public var models: [(name: String, directory: String)]
    /// At least one clip.
    public var clips: [Clip]
    /// How words are cut for WER.
    public var normalization: WordErrorRate.Normalization
    public var options: TranscriptionOptions

    public init(models: [(name: String, directory: String)], clips: [Clip],
                normalization: WordErrorRate.Normalization = .multilingual,
                options: TranscriptionOptions = .init(maxNewTokens: 32)) {
        precondition(!clips.isEmpty, "SwitchBenchmark needs at least one clip")
        self.models = models
        self.clips = clips
        self.normalization = normalization
        self.options = options
    }

    /// One clip, transcribed at every switch.
    public init(models: [(name: String, directory: String)], audio: AudioSamples, reference: String? = nil,
                options: TranscriptionOptions = .init(maxNewTokens: 32)) {
        self.init(models: models, clips: [Clip(name: "clip", samples: audio, reference: reference)], options: options)
    }

    /// The clip of switch `iteration`: the model's own count of switches so far, modulo the clips.
    public func clipIndex(iteration: Int) -> Int {
        (iteration / max(models.count, 1)) % clips.count
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
            loadMs: 0, ttftMs: 0, transcribeMs: 0, unloadMs: 0, text: "", wer: nil, audio: nil, wordErrors: nil),
            count: iterations)
        // libdispatch opens its epoll, eventfd and timerfd on first use (a sleep, a timeout) and
        // keeps them for the life of the process. Open them before the first count: seen under
        // valgrind, where threads run late, as "fds grew from 13 to 14" with no descriptor leaked.
        try? await Task.sleep(for: .milliseconds(1))
        let clock = ContinuousClock()
        for i in 0..<iterations {
            let name = models[i % models.count].name
            let clip = clips[clipIndex(iteration: i)]
            let beforeLoad = MemoryReport.current()
            var t = clock.now
            try await manager.load(name)
            let loadMs = (clock.now - t).milliseconds
            let afterLoad = MemoryReport.current()
            t = clock.now
            let result = try await manager.transcribe(clip.samples, model: name, options: options)
            let transcribeMs = (clock.now - t).milliseconds
            let afterTranscribe = MemoryReport.current()
            t = clock.now
            try await manager.unload(name)
            let unloadMs = (clock.now - t).milliseconds
            let afterUnload = MemoryReport.current()
            let counts = clip.reference.map {
                WordErrorRate.counts(reference: $0, hypothesis: result.text, normalization: normalization)
            }
            let step = SwitchStep(
                iteration: i, model: name, beforeLoad: beforeLoad, afterLoad: afterLoad, afterTranscribe: afterTranscribe,
                afterUnload: afterUnload, loadMs: loadMs, ttftMs: result.timings.ttftMs, transcribeMs: transcribeMs,
                unloadMs: unloadMs, text: result.text, wer: counts?.rate,
                audio: clips.count > 1 ? clip.name : nil, wordErrors: counts)
            steps[i] = step
            progress(step)
        }
        return steps
    }

    /// Restart mode: loads `model` once, then `count` times resets its session and transcribes
    /// again (clip k after restart k, cycling through the clips). Returns the memory after the
    /// warm-up request and after every restart + request.
    public func restarts(model: String, count: Int,
                         progress: (Int, MemoryReport) -> Void = { _, _ in }) async throws(RuntimeError) -> [MemoryReport] {
        guard let entry = models.first(where: { $0.name == model }) else {
            throw .unknownModel(model, known: models.map(\.name))
        }
        let manager = ModelManager(configuration: .init(trimAfterUnload: true))
        try await manager.register(entry.name, directory: entry.directory)
        try await manager.load(model)
        _ = try await manager.transcribe(clips[0].samples, model: model, options: options)
        // Filled before the first measurement, for the reason given in `run`.
        var reports = [MemoryReport](repeating: MemoryReport(), count: count + 1)
        reports[0] = MemoryReport.current()
        for i in 0..<count {
            try await manager.restart(model)
            _ = try await manager.transcribe(clips[(i + 1) % clips.count].samples, model: model, options: options)
            let r = MemoryReport.current()
            reports[i + 1] = r
            progress(i, r)
        }
        try await manager.unload(model)
        return reports
    }
}
