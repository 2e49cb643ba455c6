import ArgumentParser
import EarshotBench
import EarshotModels
import EarshotRuntime
import Foundation

struct BenchBatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Qwen3-ASR decode throughput with several sequences decoding together, against one alone.",
        discussion: """
        Prefills every sequence with the same text prompt, then decodes --tokens greedy steps with
        all sequences of a batch side by side (one pass over the weights per step, each sequence
        with its own KV cache and position), for each --rows count; reports the median step time,
        the aggregate tokens per second and its ratio to one sequence's, measured in the same process.
        """)

    @OptionGroup var common: ModelOptions

    @Option(name: .long, parsing: .upToNextOption, help: "Batch sizes (sequences decoding together).")
    var rows: [Int] = [1, 2, 4, 8, 16]

    @Option(name: .long, help: "Decode steps per batch size.")
    var tokens: Int = 64

    func validate() throws {
        for r in rows { try checkOption(r, OptionBounds.batchRows, "--rows") }
        try checkOption(tokens, OptionBounds.maxTokens, "--tokens")
    }

    func run() throws {
        common.applyThreads()
        let loaded: LoadedModel
        do { loaded = try loadModelShowingProgress(common.model, precision: common.precision ?? .inPlace).model } catch {
            throw fail("earshot: \(error)")
        }
        defer { loaded.close() }
        guard case .qwen3ASR(let model) = loaded else {
            throw fail("earshot: bench batch needs a Qwen3-ASR model; \(common.model) is a \(loaded.family.rawValue) model")
        }
        let progress = ProgressLine()
        let table: [BatchDecodeBenchmark.Row]
        do { table = try BatchDecodeBenchmark.run(model: model, rowCounts: rows, tokens: tokens) { progress.show($0) } } catch {
            progress.finish()
            throw fail("earshot: \(error)")
        }
        progress.finish()
        print("| Sequences | ms per step | tokens/s (all sequences) | x one sequence |")
        print("|---:|---:|---:|---:|")
        for r in table {
            print("| \(r.rows) | \(String(format: "%.1f", r.stepMilliseconds)) | \(String(format: "%.1f", r.tokensPerSecond)) | \(String(format: "%.2f", r.speedup)) |")
        }
        print("threads: \(common.threads.map(String.init) ?? "all cores"); \(BenchKernels().levelLine)")
    }
}
