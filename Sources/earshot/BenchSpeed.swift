import ArgumentParser
import EarshotAudio
import EarshotBench
import EarshotModels
import EarshotRuntime
import EarshotTensor
import Foundation

struct BenchSpeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed",
        abstract: "Time encoder, prefill, first token and decoding; compare with this machine's bandwidth and sgemm peak.",
        discussion: """
        Loads the model, transcribes the clip once untimed and --runs times timed, each run decoding
        exactly --max-tokens tokens (end-of-sequence and the loop guard are ignored, so random-weight
        checkpoints decode as long as real ones), and reports min / median per stage and peak RSS.
        Then, in the same process, it measures the memory read bandwidth (512 MB read with --threads
        threads) and the sgemm peak (1024^3), and reports decode speed as a fraction of the bandwidth
        bound (bandwidth / weight bytes per token) and prefill as a fraction of the sgemm peak.
        """)

    @OptionGroup var common: ModelOptions

    @Option(name: .long, help: "Audio clip (default: the bundled fox.wav).")
    var audio: String?

    @Option(name: .long, help: "Timed runs, after one untimed warm-up run.")
    var runs: Int = 3

    @Option(name: .long, help: "Tokens decoded per run (fixed: end-of-sequence is ignored).")
    var maxTokens: Int = 32

    @Option(name: .long, help: "Write the summary as JSON.")
    var json: String?

    func validate() throws {
        try checkOption(runs, OptionBounds.runs, "--runs")
        try checkOption(maxTokens, OptionBounds.maxTokens, "--max-tokens")
        guard maxTokens >= 2 else { throw ValidationError("--max-tokens must be at least 2") }
    }

    func run() throws {
        common.applyThreads()
        let clip = audio ?? Defaults.bundledAudio
        let samples: AudioSamples
        do { samples = try AudioDecoder.load(path: clip) } catch { throw fail(fileErrorLine(clip, error)) }

        let bench = SpeedBenchmark(modelDirectory: common.model, precision: common.precision ?? .inPlace, runs: runs,
                                   maxTokens: maxTokens, language: common.language)
        let progress = ProgressLine()
        let summary: SpeedSummary
        do {
            summary = try bench.run(samples: samples) { progress.show($0) }
        } catch {
            progress.finish()
            throw fail("earshot: \(error)")
        }
        progress.finish()
        print(SpeedReport.table(summary))
        if let json {
            do {
                try SpeedReport.json(summary).write(to: URL(fileURLWithPath: json))
            } catch {
                throw fail("earshot: writing \(json): \(error)")
            }
        }
    }
}
