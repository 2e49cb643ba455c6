import ArgumentParser
import EarshotModels
import EarshotRuntime
import EarshotTensor
import Foundation

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model directory as one GGUF file (q8, q4 or bf16) that loads with zero copies.",
        discussion: """
            The decoder's linear layers and the tied embedding/head are quantized (q8: ggml q8_0, \
            q4: ggml q4_1); the encoder stays bf16. Config and tokenizer travel inside the file, \
            so the output is accepted wherever a model directory is (--model FILE.gguf).
            """)

    @Option(name: [.customLong("precision"), .customLong("quant")], help: "q8, q4 or native (no quantization; alias bf16).")
    var precision: WeightPrecision = .q8

    @Flag(name: .long, help: "Quantize the audio encoder's linear layers too (Qwen3 families; by default they stay bf16). Smaller and lighter in memory: a 0.6B aligner's q8 file is 0.94 GB instead of 1.22 GB.")
    var quantizeEncoder = false

    @Option(name: .long, help: "Compute threads for quantization (default: all cores).")
    var threads: Int?

    @Argument(help: "Model directory as published (config.json, safetensors, tokenizer files).")
    var input: String

    @Argument(help: "Output GGUF file.")
    var output: String

    func validate() throws {
        try checkOption(threads, OptionBounds.threads, "--threads")
    }

    func run() throws {
        if let threads { Kernels.setThreadCount(max(1, threads)) }
        let progress = ProgressLine()
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try ModelConverter.convert(directory: input, to: output, quant: precision, quantizeEncoder: quantizeEncoder) { done, total in
                progress.show("convert: \(done)/\(total) tensors")
            }
        } catch {
            progress.finish()
            throw fail("earshot: \(error)")
        }
        progress.finish()
        let size = ((try? FileManager.default.attributesOfItem(atPath: output))?[.size] as? Int) ?? 0
        print("wrote \(output): \(String(format: "%.1f", mb(size))) MB, \(precision.rawValue), in \(String(format: "%.1f", (clock.now - start).milliseconds / 1000)) s")
    }
}
