import ArgumentParser
import Foundation

@main
struct Earshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "earshot",
        abstract: "Local speech recognition (Qwen3-ASR) with memory that comes back.",
        subcommands: [Transcribe.self, Serve.self, Convert.self, MakeRandomCheckpoint.self, Bench.self]
    )
}

/// Prints one line on stderr and returns the failure exit code to throw.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    return ExitCode.failure
}
