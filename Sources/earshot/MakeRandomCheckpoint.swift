import ArgumentParser
import EarshotBench
import EarshotModels
import Foundation

struct MakeRandomCheckpoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-random-checkpoint",
        abstract: "Write a Qwen3-ASR checkpoint with random weights at the real tensor names, shapes and layout.")

    @Option(name: .long, help: "0.6b, 1.7b, tiny, micro (toy width, own byte-level tokenizer) or aligner-0.6b (Qwen3-ForcedAligner; its tokenizer files from the bundled aligner fixture unless --tokenizer-from).")
    var shape: String

    @Option(name: .long, help: "Directory to copy tokenizer and preprocessor files from (default: the bundled tiny model of the same family).")
    var tokenizerFrom: String?

    @Option(name: .long, help: "Random seed.")
    var seed: UInt64 = 1

    @Argument(help: "Output directory.")
    var output: String

    func run() throws {
        guard let s = RandomCheckpoint.Shape(rawValue: shape.lowercased()) else {
            throw fail("earshot: unknown shape '\(shape)'; use 0.6b, 1.7b, tiny, micro or aligner-0.6b")
        }
        // The aligner's tokenizer_config.json adds <timestamp> (151705); Qwen3-ASR's has no such token.
        let tokenizerFrom = self.tokenizerFrom ?? (s == .aligner06 ? Defaults.bundledAligner : Defaults.bundledModel)
        guard s == .micro || FileManager.default.fileExists(atPath: tokenizerFrom + "/vocab.json") else {
            throw fail("earshot: \(tokenizerFrom) has no vocab.json to copy")
        }
        do {
            try RandomCheckpoint.write(shape: s, to: output, tokenizerFrom: tokenizerFrom, seed: seed) { line in
                FileHandle.standardError.write(Data("\r\(line)   ".utf8))
            }
            FileHandle.standardError.write(Data("\n".utf8))
        } catch {
            throw fail("earshot: \(error)")
        }
        print(output)
    }
}
