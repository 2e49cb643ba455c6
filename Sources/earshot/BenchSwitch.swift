import ArgumentParser
import EarshotAudio
import EarshotBench
import EarshotModels
import EarshotRuntime
import EarshotTensor
import Foundation

struct BenchSwitch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch",
        abstract: "Load, transcribe and unload models in turn; report memory per switch (the leak experiment).",
        discussion: """
        Each iteration loads one model, transcribes the clip and unloads it; models alternate. Memory \
        (RSS, anonymous RSS, file RSS, PSS, fds, malloc) is recorded around every step. Exits non-zero \
        when RSS or anonymous RSS grows faster than --max-slope-mb per switch after warm-up (least \
        squares over the switches after --warm-up, default the last 80%), or when open file descriptors grew.

        With --set DIR (a speech set: transcripts.json + audio) each model goes through the set's \
        files in turn (its k-th switch transcribes file k mod n), and the report gives each model's \
        WER over the run (summed, words cut as the set's README says) and the number of files it \
        transcribed differently at different switches, which should be 0.
        """)

    @Option(name: .long, help: "Comma-separated model directories (or name=directory), used in turn.")
    var models: String

    @Option(name: .long, help: "Number of switches (one load + transcribe + unload each).")
    var iterations: Int = 100

    @Option(name: .long, help: "Audio clip to transcribe at every switch (default: the bundled fox.wav).")
    var audio: String?

    @Option(name: .long, help: "What the clip says, for word error rate.")
    var reference: String?

    @Option(name: .long, help: "Speech set directory (transcripts.json + audio): cycle through its files, with WER.")
    var set: String?

    @Option(name: .long, help: "Force the language (e.g. English or en); detected when omitted.")
    var language: String?

    @Option(name: .long, help: "Maximum generated tokens per transcription (default: 32 for one clip, which bounds random-weight checkpoints; 256 with --set, so no real sentence is cut).")
    var maxTokens: Int?

    /// --max-tokens, or its default for the clips in use.
    var tokenLimit: Int { maxTokens ?? (set == nil ? 32 : 256) }

    @Option(name: .long, help: "Compute threads (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "After the switches, restart the first model's session this many times (transcribing after each).")
    var restarts: Int = 0

    @Option(name: .long, help: "Write every step and the summary as JSON.")
    var json: String?

    @Option(name: .long, help: "Write one CSV row per switch.")
    var csv: String?

    @Option(name: .long, help: "Write an SVG plot of RSS and anonymous RSS per switch.")
    var plot: String?

    @Option(name: .long, help: "Fail when memory grows faster than this many MB per switch after warm-up.")
    var maxSlopeMb: Double = 0.05

    @Option(name: .long, help: "Fraction of the switches counted as warm-up (excluded from the slope).")
    var warmUp: Double = 0.2

    @OptionGroup(title: "Voice activity detection (every transcription)") var vadFlags: VADFlags

    func validate() throws {
        try checkOption(iterations, OptionBounds.iterations, "--iterations")
        try checkOption(restarts, OptionBounds.iterations, "--restarts")
        try checkOption(maxTokens, OptionBounds.maxTokens, "--max-tokens")
        try checkOption(threads, OptionBounds.threads, "--threads")
    }

    func run() async throws {
        if let threads { Kernels.setThreadCount(max(1, threads)) }
        let named = models.split(separator: ",").map { item -> (name: String, directory: String) in
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { return (parts[0], parts[1]) }
            return (URL(fileURLWithPath: String(item)).lastPathComponent, String(item))
        }
        guard !named.isEmpty, Set(named.map(\.name)).count == named.count else {
            throw fail("earshot: --models needs one or more distinct model directories")
        }
        guard (0..<1).contains(warmUp) else { throw fail("earshot: --warm-up must be in [0, 1)") }
        guard iterations >= 0, restarts >= 0, iterations + restarts > 0 else {
            throw fail("earshot: nothing to do (--iterations and --restarts are both 0)")
        }
        let clips = try loadClips()
        let clip = set.map { "each file of \($0) in turn" } ?? audio ?? Defaults.bundledAudio
        var options = TranscriptionOptions(language: language, maxNewTokens: tokenLimit, loopGuardRepeats: 0)
        do { options.vad = try vadFlags.filter() } catch { throw fail("earshot: VAD model: \(error)") }
        defer { options.vad?.model.close() }
        let bench = SwitchBenchmark(models: named, clips: clips,
                                    normalization: set == nil ? .multilingual : .lettersDigitsApostrophes,
                                    options: options)
        let progress = ProgressLine()
        var steps: [SwitchStep] = []
        do {
            steps = try await bench.run(iterations: iterations) { step in
                let r = step.afterUnload
                progress.show(String(format: "switch %d/%d  %@  RSS %.1f MB  anon %.1f MB  fds %d  load %.0f ms  ttft %.0f ms",
                                     step.iteration + 1, iterations, step.model, mb(step.afterTranscribe.rssBytes),
                                     mb(r.rssAnonBytes), r.openFileDescriptors, step.loadMs, step.ttftMs))
            }
        } catch {
            progress.finish()
            throw fail("earshot: \(error)")
        }
        progress.finish()

        var restartReports: [MemoryReport] = []
        if restarts > 0 {
            do {
                restartReports = try await bench.restarts(model: named[0].name, count: restarts) { i, r in
                    progress.show(String(format: "restart %d/%d  %@  RSS %.1f MB  anon %.1f MB", i + 1, restarts,
                                         named[0].name, mb(r.rssBytes), mb(r.rssAnonBytes)))
                }
            } catch {
                progress.finish()
                throw fail("earshot: \(error)")
            }
            progress.finish()
        }
        try report(steps: steps, restarts: restartReports, modelNames: named.map(\.name), clip: clip)
    }
}

extension BenchSwitch {
    /// The speech set's files (--set), or the one clip (--audio, default the bundled fox.wav).
    func loadClips() throws -> [SwitchBenchmark.Clip] {
        guard let set else {
            let clip = audio ?? Defaults.bundledAudio
            let samples: AudioSamples
            do { samples = try AudioDecoder.load(path: clip) } catch { throw fail(fileErrorLine(clip, error)) }
            return [SwitchBenchmark.Clip(name: URL(fileURLWithPath: clip).lastPathComponent, samples: samples,
                                         reference: reference)]
        }
        guard audio == nil, reference == nil else { throw fail("earshot: --set replaces --audio and --reference") }
        let speech: SpeechSet
        do { speech = try SpeechSet.load(directory: set) } catch { throw fail("earshot: \(error)") }
        var clips: [SwitchBenchmark.Clip] = []
        for item in speech.items {
            do {
                clips.append(.init(name: item.audio, samples: try AudioDecoder.load(path: item.path), reference: item.text))
            } catch {
                throw fail("earshot: \(item.path): \(error)")
            }
        }
        return clips
    }
}
