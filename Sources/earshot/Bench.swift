import ArgumentParser
import EarshotBench
import EarshotRuntime
import EarshotTensor
import EarshotTokenizer
import Foundation

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks.", subcommands: [BenchSpeed.self, BenchBatch.self, BenchSwitch.self, BenchWER.self, BenchKernels.self, BenchTokenizer.self, BenchVAD.self])
}

struct BenchTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Encode about 1 MB of mixed text and report MB/s (one core).")

    @Option(name: .long, help: "Directory with vocab.json, merges.txt, tokenizer_config.json.")
    var model: String = Defaults.bundledModel

    @Option(name: .long, help: "Megabytes of text to encode.")
    var megabytes: Double = 1

    @Option(name: .long, help: "Runs (the best is reported).")
    var runs: Int = 3

    func validate() throws {
        try checkOption(megabytes, OptionBounds.textMegabytes, "--megabytes")
        try checkOption(runs, OptionBounds.runs, "--runs")
    }

    func run() throws {
        let clock = ContinuousClock()
        let loadStart = clock.now
        let tokenizer: Qwen2Tokenizer
        do { tokenizer = try Qwen2Tokenizer(directory: URL(fileURLWithPath: model)) } catch { throw fail("earshot: \(error)") }
        let loadTime = clock.now - loadStart
        let text = Self.mixedText(bytes: Int(megabytes * 1_000_000))
        let bytes = Double(text.utf8.count)
        var best = Duration.seconds(1_000_000)
        var tokens = 0
        for _ in 0..<max(1, runs) {
            let t0 = clock.now
            tokens = tokenizer.encode(text).count
            best = min(best, clock.now - t0)
        }
        let seconds = best.milliseconds / 1000
        print(String(format: "tokenizer: load %.0f ms; encoded %.2f MB into %d tokens in %.3f s: %.2f MB/s (best of %d)",
                     loadTime.milliseconds,
                     bytes / 1e6, tokens, seconds, bytes / 1e6 / seconds, runs))
    }

    /// English prose, code, digits, CJK, Arabic, Devanagari and emoji, repeated to `bytes`.
    static func mixedText(bytes: Int) -> String {
        let parts = [
            "The quick brown fox jumps over the lazy dog; it's 12:45 and we've 3,210 items left. ",
            "func transcribe(_ audio: [Float]) -> String { return model.decode(tokens) }\n",
            "语音识别模型将音频转换为文本。今天天气很好。",
            "التعرف على الكلام يحول الصوت إلى نص. ",
            "वाक् पहचान ऑडियो को पाठ में बदलती है। ",
            "Emoji 🎙️🔊 and accents: café, naïve, Zürich.  \t Tabs and  double  spaces.\n\n",
        ]
        var s = ""
        var i = 0
        while s.utf8.count < bytes {
            s += parts[i % parts.count]
            i += 1
        }
        return s
    }
}

struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Matrix-vector throughput (GB/s of weights) per kernel, AVX2 C path against portable Swift; --compute: peaks and prefill GEMM GFLOPS.")

    @Option(name: .long, help: "Megabytes of q8_0 weights per pass (far above the caches).")
    var megabytes: Int = 256

    @Option(name: .long, help: "Compute threads (default: all cores).")
    var threads: Int?

    @Flag(name: .long, help: "Compute instead: f32 FMA and int8 multiply-add peaks (AVX2 and AVX-512 VNNI), and the prefill GEMM kernels (q8_0 at each kernel level, bf16 panel, f32 sgemm) in GFLOPS at the Qwen3 models' prefill shapes.")
    var compute = false

    @Flag(name: .long, help: "Print the kernel levels this CPU runs (for EARSHOT_KERNELS), one per line, lowest first, and exit.")
    var listLevels = false

    @Flag(name: .long, help: "Batched products instead: y[M, out] = x[M, in] · W^T for a few rows M per format (f32 also through sgemm), GB/s of weights and GMAC/s per row count.")
    var batch = false

    @Option(name: .long, parsing: .upToNextOption, help: "--batch: the row counts M.")
    var rows: [Int] = BatchedLinearBenchmark.defaultRows

    func validate() throws {
        try checkOption(megabytes, OptionBounds.benchMegabytes, "--megabytes")
        try checkOption(threads, OptionBounds.threads, "--threads")
        for r in rows { try checkOption(r, OptionBounds.batchRows, "--rows") }
    }

    /// Which variant each kernel runs at the level in force (`EARSHOT_KERNELS` lowers it).
    var levelLine: String {
        let level = CPUFeatures.level
        let gemm = level >= .avx512 ? "q8_0 GEMM avx512-vnni, bf16/q4_1 GEMM avx2 panel"
            : level >= .avx2 ? "quantized and bf16 GEMM avx2 panel" : "GEMM dequantize + sgemm"
        let matvec = level >= .avx512 ? "q8_0 matvec avx512-vnni, q4_1/bf16 matvec avx2"
            : level >= .avx2 ? "matvec avx2" : "matvec portable"
        return "kernel level: \(level) (CPU best: \(CPUFeatures.bestLevel)); \(gemm); \(matvec); OpenBLAS core \(CPUFeatures.openBLASCoreType ?? "default")"
    }

    func run() throws {
        if listLevels {
            for level in CPUFeatures.availableLevels { print(level) }
            return
        }
        if let threads { Kernels.setThreadCount(max(1, threads)) }
        if compute {
            let rows: [ComputeBenchmark.Row]
            do { rows = try ComputeBenchmark.run() } catch { throw fail("earshot: \(error)") }
            print("| Probe | Path | GFLOPS (Gops) |")
            print("|---|---|---:|")
            for r in rows { print("| \(r.probe) | \(r.path) | \(String(format: "%.1f", r.gigaOpsPerSecond)) |") }
            print("threads: \(Kernels.threadCount)")
            print(levelLine)
            return
        }
        if batch {
            let table: [BatchedLinearBenchmark.Row]
            do { table = try BatchedLinearBenchmark.run(rowCounts: rows, weightBytes: megabytes << 20) } catch {
                throw fail("earshot: \(error)")
            }
            print("| Format | Path | Rows | ms per pass | GB/s of weights | GMAC/s |")
            print("|---|---|---:|---:|---:|---:|")
            for r in table {
                print("| \(r.format) | \(r.path) | \(r.rows) | \(String(format: "%.1f", r.milliseconds)) | "
                      + "\(String(format: "%.2f", r.gbPerSecond)) | \(String(format: "%.1f", r.gigaMACsPerSecond)) |")
            }
            print("threads: \(Kernels.threadCount)")
            print(levelLine)
            return
        }
        let rows: [KernelBenchmark.Row]
        do { rows = try KernelBenchmark.run(weightBytes: megabytes << 20) } catch { throw fail("earshot: \(error)") }
        print("| Kernel | Path | GB/s of weights | Gweights/s |")
        print("|---|---|---:|---:|")
        for r in rows {
            print("| \(r.kernel) | \(r.path) | \(String(format: "%.2f", r.gbPerSecond)) | \(String(format: "%.2f", r.gigaWeightsPerSecond)) |")
        }
        print("threads: \(Kernels.threadCount)")
        print(levelLine)
    }
}
