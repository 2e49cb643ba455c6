import Foundation
import Testing
@testable import EarshotAudio

/// ffmpeg is not installed on the test machines, so these tests put a stand-in `ffmpeg` shell
/// script on an explicit search path: it exercises the process plumbing (arguments, stdout to a
/// file, exit status, stderr capture) without the real program.
@Suite struct FFmpegDecoderTests {
    /// Creates a directory holding an executable `ffmpeg` with the given shell body.
    static func fakeFFmpeg(_ body: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-fake-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = dir.appendingPathComponent("ffmpeg")
        try ("#!/bin/sh\n" + body + "\n").write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        return dir
    }

    @Test func successfulDecodeReadsF32LEFromStdout() throws {
        // Checks the argument list, then writes two float32 samples: 0.25 and -0.5.
        let dir = try Self.fakeFFmpeg("""
            [ "$1 $2 $3 $4" = "-nostdin -v error -i" ] || { echo "bad args: $*" >&2; exit 3; }
            [ "$6 $7 $8 $9 ${10} ${11} ${12}" = "-f f32le -ac 1 -ar 16000 -" ] || { echo "bad args: $*" >&2; exit 4; }
            printf '\\000\\000\\200\\076\\000\\000\\000\\277'
            """)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(FFmpegDecoder.locate(searchPath: dir.path) == dir.path + "/ffmpeg")
        let bytes = Array("ID3 not a real mp3".utf8)
        let s = try bytes.withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "clip.mp3", ffmpegSearchPath: dir.path) }
        #expect(s.sampleRate == 16_000)
        #expect(s.array == [0.25, -0.5])
    }

    @Test func failureIncludesStatusAndStderr() throws {
        let dir = try Self.fakeFFmpeg("echo 'clip.ogg: Invalid data found when processing input' >&2; exit 1")
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = audioError {
            try Array("OggS...".utf8).withUnsafeBytes {
                try AudioDecoder.decode(bytes: $0, name: "clip.ogg", ffmpegSearchPath: dir.path)
            }
        }
        guard case .decoderFailed(let name, let tool, let status, let stderr)? = error else {
            Issue.record("expected decoderFailed, got \(String(describing: error))"); return
        }
        #expect(name == "clip.ogg" && tool == "ffmpeg" && status == 1)
        #expect(stderr.contains("Invalid data found"))
    }

    @Test func longStderrIsTruncated() throws {
        let dir = try Self.fakeFFmpeg("i=0; while [ $i -lt 500 ]; do echo 'error line that goes on and on' >&2; i=$((i+1)); done; exit 2")
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = audioError {
            try Array("fLaC".utf8).withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "a.flac", ffmpegSearchPath: dir.path) }
        }
        guard case .decoderFailed(_, _, 2, let stderr)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(stderr.count <= FFmpegDecoder.stderrLimit + 3)
    }

    @Test func emptyOutputIsEmptyAudio() throws {
        let dir = try Self.fakeFFmpeg("exit 0")
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = audioError {
            try Array("fLaC".utf8).withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "b.flac", ffmpegSearchPath: dir.path) }
        }
        #expect(error == .emptyAudio(name: "b.flac"))
    }

    @Test func routingOfTruncatedAndMislabelledWAV() {
        // 8 bytes of RIFF: a truncated WAV, not "needs ffmpeg".
        let riff = Array("RIFF\u{0}\u{0}\u{0}\u{0}".utf8)
        guard case .truncated? = audioError({ try riff.withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "t.wav", ffmpegSearchPath: "") } }) else {
            Issue.record("expected truncated"); return
        }
        // A .wav name over non-RIFF bytes, without ffmpeg: the WAV parser's precise error.
        let junk = Array("this is not audio".utf8)
        guard case .corruptHeader? = audioError({ try junk.withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "j.wav", ffmpegSearchPath: "") } }) else {
            Issue.record("expected corruptHeader"); return
        }
    }
}
