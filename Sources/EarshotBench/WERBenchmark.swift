import EarshotAudio
import EarshotModels
import EarshotRuntime

/// The `earshot bench wer` experiment: one loaded model transcribes every item of a speech set in
/// order; each transcription is timed on its own (decoding the audio file is not counted).
/// `WERReport` scores the result.
public struct WERBenchmark: Sendable {
    public var set: SpeechSet
    public var options: TranscriptionOptions

    public init(set: SpeechSet, options: TranscriptionOptions = .init()) {
        self.set = set
        self.options = options
    }

    /// Runs the set through `model` with a session made for the run and closed after it.
    public func run(model: LoadedModel,
                    progress: (WERReport.Measurement) -> Void = { _ in }) throws(RuntimeError) -> [WERReport.Measurement] {
        let session = try Session(model: model)
        defer { session.close() }
        let options = self.options
        return try run(transcribe: { samples throws(RuntimeError) in
            try session.transcribe(samples, options: options).text
        }, progress: progress)
    }

    /// Runs the set through any transcription function (tests pass a fake).
    public func run(transcribe: (AudioSamples) throws(RuntimeError) -> String,
                    progress: (WERReport.Measurement) -> Void = { _ in }) throws(RuntimeError) -> [WERReport.Measurement] {
        let clock = ContinuousClock()
        var out: [WERReport.Measurement] = []
        out.reserveCapacity(set.items.count)
        for item in set.items {
            let samples: AudioSamples
            do { samples = try AudioDecoder.load(path: item.path) } catch { throw .audio(error) }
            let start = clock.now
            let text = try transcribe(samples)
            let seconds = (clock.now - start).milliseconds / 1000
            let m = WERReport.Measurement(item: item, hypothesis: text, seconds: seconds, audioSeconds: samples.duration)
            out.append(m)
            progress(m)
        }
        return out
    }
}
