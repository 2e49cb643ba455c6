import ArgumentParser
import Foundation

@main
struct Earshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "earshot",
        abstract: "Local speech recognition (Qwen3-ASR, Whisper) with memory that comes back.",
        subcommands: [Transcribe.self, Serve.self, Convert.self, MakeRandomCheckpoint.self, Bench.self]
    )
}
