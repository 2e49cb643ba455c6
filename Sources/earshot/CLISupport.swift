import ArgumentParser
import EarshotModels
import EarshotTensor
import EarshotRuntime
import Foundation

// What every command shares: the model options, precision parsing, loading with progress,
// option checks, error lines, and the bundled defaults.

/// The options of every command that loads one model: `--model`, `--precision` (alias `--quant`),
/// `--threads`, `--language`.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model: a Qwen3-ASR directory or GGUF file, or a Whisper directory (CTranslate2 model.bin or Hugging Face safetensors).")
    var model: String

    @Option(name: [.customLong("precision"), .customLong("quant")],
            help: "Weight precision at load: \(WeightPrecision.names); q8/q4 quantize the decoder (default: native).")
    var precision: WeightPrecision?

    @Option(name: .long, help: "Compute threads (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "Force the language (e.g. English or en); detected when omitted.")
    var language: String?

    func validate() throws {
        try checkOption(threads, OptionBounds.threads, "--threads")
    }

    /// Sets the kernels' thread count (all cores unless `--threads`).
    func applyThreads() {
        Kernels.setThreadCount(threads ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Loads `--model` at `--precision`, showing quantization progress.
    func load() throws(ModelError) -> (model: LoadedModel, loadMs: Double) {
        try loadModelShowingProgress(model, precision: precision ?? .inPlace)
    }
}

extension WeightPrecision: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

/// Loads a model of any family, showing a progress line while matrices are quantized at load
/// (quantizing a 1.7B checkpoint takes seconds). Returns the model and the load's wall time.
func loadModelShowingProgress(_ path: String, precision: WeightPrecision) throws(ModelError) -> (model: LoadedModel, loadMs: Double) {
    let progress = ProgressLine()
    defer { progress.finish() }
    let clock = ContinuousClock()
    let start = clock.now
    let model = try ModelRegistry.load(directory: path, precision: precision, progress: { done, total in
        progress.show("quantizing \(precision.rawValue): \(done)/\(total) matrices")
    })
    return (model, (clock.now - start).milliseconds)
}

/// Checks a flag's value against its bound in `OptionBounds` (the same bounds the server's
/// configuration and the C ABI use): out of range is a usage error naming the flag and the range,
/// before anything is loaded or any thread started.
func checkOption(_ value: Int?, _ bound: OptionBound, _ flag: String) throws {
    guard let value else { return }
    do { try bound.check(value, option: flag) } catch { throw ValidationError(error.description) }
}

func checkOption(_ value: Double?, _ bound: RealOptionBound, _ flag: String) throws {
    guard let value else { return }
    do { try bound.check(value, option: flag) } catch { throw ValidationError(error.description) }
}

/// "earshot: FILE: ERROR" for a file that failed, naming the file once: most audio errors already
/// start with its name ("x.wav: truncated ...") or quote its path ("audio file not found: x.wav").
func fileErrorLine(_ file: String, _ error: any Error) -> String {
    let message = "\(error)"
    let name = (file as NSString).lastPathComponent
    if message.contains(file) || (!name.isEmpty && message.hasPrefix(name + ":")) { return "earshot: \(message)" }
    return "earshot: \(file): \(message)"
}

/// Prints one line on stderr and returns the failure exit code to throw.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    return ExitCode.failure
}

enum Defaults {
    /// The tiny parity checkpoint bundled with the repository (random weights, real tokenizer).
    static var bundledModel: String { repoPath("Tests/Fixtures/qwen3-asr-tiny/model") }
    static var bundledAligner: String { repoPath("Tests/Fixtures/qwen3-forced-aligner-tiny/model") }
    static var bundledAudio: String { repoPath("Tests/Fixtures/qwen3-asr-tiny/audio/fox.wav") }

    /// Resolves a path inside the checkout: from the working directory, else relative to the binary
    /// (`.build/<config>/earshot`).
    static func repoPath(_ relative: String) -> String {
        let fm = FileManager.default
        if fm.fileExists(atPath: relative) { return relative }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent(relative).path
            if fm.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return relative
    }
}

/// One status line on stderr, rewritten in place on a terminal, every ~10% otherwise.
final class ProgressLine: @unchecked Sendable {   // used from the one task running the benchmark
    private let tty = isatty(STDERR_FILENO) != 0
    private var count = 0
    private var lastLength = 0

    func show(_ line: String) {
        count += 1
        if tty {
            let pad = String(repeating: " ", count: max(0, lastLength - line.count))
            FileHandle.standardError.write(Data("\r\(line)\(pad)".utf8))
            lastLength = line.count
        } else if count == 1 || count % 10 == 0 {
            FileHandle.standardError.write(Data("\(line)\n".utf8))
        }
    }

    func finish() {
        if tty, lastLength > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
        lastLength = 0
        count = 0
    }
}

/// Megabytes (2^20 bytes), as every report in Earshot uses.
func mb(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }
