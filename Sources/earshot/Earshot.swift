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
