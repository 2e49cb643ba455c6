import EarshotTestSupport
import Foundation
import Testing

/// The `earshot` executable itself, run as a user would: numeric flags out of their bounds are
/// usage errors naming the flag and the range (never a trap, a server started, or 100,000 threads),
/// and a failing file is named once in its error line.
///
/// The binary is the one built next to this test bundle (`swift build` / `swift test` build it).
@Suite(.serialized) struct CLIOptionTests {
    static let binary: URL = {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = here.deletingLastPathComponent()
        // On Linux the test bundle is an executable in the products directory; on macOS a bundle inside it.
        for _ in 0..<4 where !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("earshot").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("earshot")
    }()

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `earshot ARGS`, killed after 120 s (a server that started by mistake would never end).
    func earshot(_ args: [String]) throws -> Outcome {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            Issue.record("no earshot binary at \(Self.binary.path); build it with swift build")
            return Outcome(status: -1, stdout: "", stderr: "")
        }
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: killer)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        return Outcome(status: p.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self))
    }

    var model: String { Fixtures.qwenTinyModel.path }
    var clip: String { Fixtures.qwenTinyAudio("short").path }

    /// Exit 64 (usage) with the flag and its range on stderr; nothing transcribed or served.
    func expectRefused(_ args: [String], _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try earshot(args)
        #expect(r.status == 64, "\(args): exit \(r.status), stderr: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(expected), "\(args): stderr: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, "\(args): stdout: \(r.stdout)", sourceLocation: sourceLocation)
    }

    // `--flag=VALUE`: a bare "-1" would be read as an option name.
    @Test(arguments: ["0", "-1", "1000000000000", "9223372036854775807"])
    func transcribeMaxTokensOutOfRange(_ value: String) throws {
        try expectRefused(["transcribe", "--model", model, "--max-tokens=\(value)", clip],
                          "--max-tokens must be in 1...1000000 tokens, got \(value)")
    }

    @Test(arguments: ["0", "100000", "-4"])
    func transcribeThreadsOutOfRange(_ value: String) throws {
        try expectRefused(["transcribe", "--model", model, "--threads=\(value)", clip],
                          "--threads must be in 1...256 threads, got \(value)")
    }

    @Test(arguments: ["0", "-1", "nan", "1e300"])
    func transcribeMaxAudioSecondsOutOfRange(_ value: String) throws {
        try expectRefused(["transcribe", "--model", model, "--max-audio-seconds=\(value)", clip],
                          "--max-audio-seconds must be in 0.001...31536000.0 seconds, got")
    }

    @Test func transcribeAtTheEndsOfTheRangeWorks() throws {
        let r = try earshot(["transcribe", "--model", model, "--max-tokens", "1", "--threads", "1", clip])
        #expect(r.status == 0, "stderr: \(r.stderr)")
    }

    @Test func serveRefusesEveryNumberOutOfRangeBeforeStarting() throws {
        let base = ["serve", "--models", "tiny=\(model)"]
        try expectRefused(base + ["--max-tokens", "9223372036854775807"], "--max-tokens must be in 1...1000000 tokens")
        try expectRefused(base + ["--threads", "100000"], "--threads must be in 1...256 threads")
        try expectRefused(base + ["--port", "70000"], "--port must be in 0...65535, got 70000")
        try expectRefused(base + ["--max-upload-mb", "9223372036854775807"], "--max-upload-mb must be in 1...16384 MB")
        try expectRefused(base + ["--timeout", "1e300"], "--timeout must be in 0.001...604800.0 seconds")
        try expectRefused(base + ["--timeout", "nan"], "--timeout must be in")
        try expectRefused(base + ["--budget-mb", "0"], "--budget-mb must be in")
        try expectRefused(base + ["--queue=-1"], "--queue must be in")
        try expectRefused(base + ["--ttl=-1"], "--ttl must be in")
        try expectRefused(base + ["--max-concurrency", "0"], "--max-concurrency must be in")
    }

    @Test func serveRefusesAnEnvironmentValueOutOfRange() throws {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["serve", "--models", "tiny=\(model)", "--port", "0"]
        p.environment = ProcessInfo.processInfo.environment.merging(["EARSHOT_MAX_TOKENS": "9223372036854775807"]) { $1 }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: killer)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        killer.cancel()
        #expect(p.terminationStatus == 1)
        #expect(stderr.contains("invalid max_tokens: 9223372036854775807 (allowed: 1...1000000 tokens)"), "\(stderr)")
    }

    @Test func benchCountsOutOfRange() throws {
        try expectRefused(["bench", "speed", "--model", model, "--runs", "0"], "--runs must be in 1...1000000 runs")
        try expectRefused(["bench", "speed", "--model", model, "--max-tokens", "9223372036854775807"], "--max-tokens must be in")
        try expectRefused(["bench", "switch", "--models", "tiny=\(model)", "--iterations=-1"], "--iterations must be in")
        try expectRefused(["bench", "switch", "--models", "tiny=\(model)", "--iterations", "9223372036854775807",
                           "--restarts", "9223372036854775807"], "--iterations must be in")
        try expectRefused(["bench", "kernels", "--megabytes", "9223372036854775807"], "--megabytes must be in 1...65536 MB")
        try expectRefused(["bench", "tokenizer", "--megabytes", "1e300"], "--megabytes must be in")
        try expectRefused(["bench", "tokenizer", "--runs", "0"], "--runs must be in")
        try expectRefused(["convert", "--threads", "0", model, "/tmp/never-written.gguf"], "--threads must be in")
    }

    /// VAD and subtitle-line flags: contradictions are usage errors; a missing VAD model is named.
    @Test func vadAndLineFlagsAreChecked() throws {
        try expectRefused(["transcribe", "--model", model, "--vad-model", "x.onnx", clip], "--vad-model needs --vad")
        try expectRefused(["transcribe", "--model", model, "--vad", "--vad-threshold", "1.5", clip], "VAD threshold")
        try expectRefused(["transcribe", "--model", model, "--max-line-chars", "20", clip], "--max-line-chars needs")
        let missing = try earshot(["transcribe", "--model", model, "--vad", "--vad-model", "/nonexistent/vad.onnx", clip])
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent/vad.onnx"), "\(missing.stderr)")
        let vad = Fixtures.root.appendingPathComponent("vad/silero_vad_v6.onnx").path
        let ok = try earshot(["transcribe", "--model", model, "--max-tokens", "2", "--vad", "--vad-model", vad, "--json", clip])
        #expect(ok.status == 0 && ok.stdout.contains("\"vad_ms\""), "\(ok.stderr)")
    }

    @Test func aFailingFileIsNamedOnceInItsErrorLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-cli-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let junk = dir.appendingPathComponent("junk-input.wav")
        try Data("RIFF\u{10}\0\0\0WAVEfmt ".utf8 + [UInt8](repeating: 0xFF, count: 4) + [UInt8](repeating: 0, count: 64)).write(to: junk)
        let missing = dir.appendingPathComponent("missing-input.wav")
        let r = try earshot(["transcribe", "--model", model, junk.path, missing.path])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("earshot:") }
        let junkLine = lines.first { $0.contains("junk-input.wav") }
        let missingLine = lines.first { $0.contains("missing-input.wav") }
        #expect(junkLine.map { $0.components(separatedBy: "junk-input.wav").count - 1 } == 1, "\(r.stderr)")
        #expect(missingLine.map { $0.components(separatedBy: "missing-input.wav").count - 1 } == 1, "\(r.stderr)")
    }

    /// Several files in plain text: one line per file, each starting with its file; one file: its
    /// text alone (what a script piping one file expects).
    @Test func plainTextNamesEachFileWhenThereAreSeveral() throws {
        let other = Fixtures.qwenTinyAudio("fox").path
        let one = try earshot(["transcribe", "--model", model, "--max-tokens", "4", clip])
        #expect(one.status == 0, "stderr: \(one.stderr)")
        let two = try earshot(["transcribe", "--model", model, "--max-tokens", "4", clip, other])
        #expect(two.status == 0, "stderr: \(two.stderr)")
        let lines = two.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(lines.count == 2, "\(two.stdout)")
        #expect(lines.first == "\(clip): " + one.stdout.trimmingCharacters(in: .newlines), "\(two.stdout)")
        #expect(lines.last?.hasPrefix("\(other): ") == true, "\(two.stdout)")
    }

    /// `--format` writes the server's documents: SubRip to standard output for one file, one file
    /// per input with `--output-dir`; unknown formats and several files on one stream are refused.
    @Test func formatWritesSubtitlesAndDocuments() throws {
        let srt = try earshot(["transcribe", "--model", model, "--max-tokens", "4", "--format", "srt", clip])
        #expect(srt.status == 0, "stderr: \(srt.stderr)")
        #expect(srt.stdout.hasPrefix("1\n00:00:00,000 --> 00:00:"), "\(srt.stdout)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-format-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let other = Fixtures.qwenTinyAudio("fox").path
        let vtt = try earshot(["transcribe", "--model", model, "--max-tokens", "4", "--format", "vtt", "--output-dir", dir.path,
                               clip, other])
        #expect(vtt.status == 0 && vtt.stdout.isEmpty, "stderr: \(vtt.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files == ["fox.vtt", URL(fileURLWithPath: clip).deletingPathExtension().lastPathComponent + ".vtt"].sorted())
        for f in files { #expect(try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8).hasPrefix("WEBVTT\n\n")) }
        let bogus = try earshot(["transcribe", "--model", model, "--format", "docx", clip])
        #expect(bogus.status != 0 && bogus.stderr.contains("--format"))
        let two = try earshot(["transcribe", "--model", model, "--format", "srt", clip, other])
        #expect(two.status != 0 && two.stderr.contains("--output-dir"))
    }

    /// `--precision` and its alias `--quant` take the same names (and aliases) as the server and
    /// the C ABI; anything else is a usage error listing them.
    @Test func precisionAndQuantAreOneOptionWithOneSetOfNames() throws {
        let native = try earshot(["transcribe", "--model", model, "--max-tokens", "2", "--precision", "native", clip])
        let bf16 = try earshot(["transcribe", "--model", model, "--max-tokens", "2", "--quant", "bf16", clip])
        #expect(native.status == 0 && bf16.status == 0, "\(native.stderr) \(bf16.stderr)")
        #expect(native.stdout == bf16.stdout)
        try expectRefused(["transcribe", "--model", model, "--precision", "q3", clip], "q3")
    }
}
