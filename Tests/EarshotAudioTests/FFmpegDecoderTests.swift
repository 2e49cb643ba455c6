import Foundation
import Testing
@testable import EarshotAudio

/// A stand-in `ffmpeg` shell script on an explicit search path exercises the process plumbing
/// (arguments, stdin and stdout pipes, exit status, stderr capture) apart from the real program;
/// `FFmpegHardeningTests` runs the real one.
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
        // Checks the argument list and that stdin carries the upload, then writes two float32
        // samples: 0.25 and -0.5.
        let dir = try Self.fakeFFmpeg("""
            expected="-nostdin -hide_banner -loglevel error -protocol_whitelist pipe -format_whitelist mp3 -f mp3 -i pipe:0 \
            -map 0:a:0 -vn -sn -dn -ac 1 -ar 16000 -f f32le pipe:1"
            [ "$*" = "$expected" ] || { echo "bad args: $*" >&2; exit 3; }
            [ "$(cat)" = "ID3 not a real mp3" ] || { echo "bad stdin" >&2; exit 4; }
            printf '\\000\\000\\200\\076\\000\\000\\000\\277'
            """)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(FFmpegDecoder.locate(searchPath: dir.path) == dir.path + "/ffmpeg")
        let bytes = Array("ID3 not a real mp3".utf8)
        let s = try bytes.withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "clip.mp3", limits: .init(ffmpegSearchPath: dir.path)) }
        #expect(s.sampleRate == 16_000)
        #expect(s.array == [0.25, -0.5])
    }

    @Test func failureIncludesStatusAndStderr() throws {
        let dir = try Self.fakeFFmpeg("echo 'clip.ogg: Invalid data found when processing input' >&2; exit 1")
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = audioError {
            try Array("OggS...".utf8).withUnsafeBytes {
                try AudioDecoder.decode(bytes: $0, name: "clip.ogg", limits: .init(ffmpegSearchPath: dir.path))
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
            try Array("fLaC".utf8).withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "a.flac", limits: .init(ffmpegSearchPath: dir.path)) }
        }
        guard case .decoderFailed(_, _, 2, let stderr)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(stderr.count <= FFmpegDecoder.stderrLimit + 3)
    }

    @Test func emptyOutputIsEmptyAudio() throws {
        let dir = try Self.fakeFFmpeg("exit 0")
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = audioError {
            try Array("fLaC".utf8).withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "b.flac", limits: .init(ffmpegSearchPath: dir.path)) }
        }
        #expect(error == .emptyAudio(name: "b.flac"))
    }

    @Test func routingOfTruncatedAndMislabelledWAV() {
        // 8 bytes of RIFF: a truncated WAV, not "needs ffmpeg".
        let riff = Array("RIFF\u{0}\u{0}\u{0}\u{0}".utf8)
        guard case .truncated? = audioError({ try riff.withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "t.wav", limits: .init(ffmpegSearchPath: "")) } }) else {
            Issue.record("expected truncated"); return
        }
        // A .wav name over non-RIFF bytes, without ffmpeg: the WAV parser's precise error.
        let junk: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        guard case .corruptHeader? = audioError({ try junk.withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "j.wav", limits: .init(ffmpegSearchPath: "")) } }) else {
            Issue.record("expected corruptHeader"); return
        }
        // Text under a .wav name is named as text, not as a broken header.
        let text = Array("this is not audio".utf8)
        guard case .unsupportedFormat? = audioError({ try text.withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "t.wav", limits: .init(ffmpegSearchPath: "")) } }) else {
            Issue.record("expected unsupportedFormat"); return
        }
    }

    /// A decoder that never ends (ffmpeg on a "live" playlist did) is killed at the deadline,
    /// with everything it started: the whole process group goes, and nothing is left to reap.
    @Test func aDecoderThatNeverEndsIsKilledAtTheDeadline() throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-grandchild-\(UUID())")
        defer { try? FileManager.default.removeItem(at: pidFile) }
        let dir = try Self.fakeFFmpeg("sleep 300 & echo $! > \(pidFile.path); cat > /dev/null; sleep 300")
        defer { try? FileManager.default.removeItem(at: dir) }
        let started = ContinuousClock.now
        let limits = AudioDecodeLimits(deadline: .init(seconds: 0.5), ffmpegSearchPath: dir.path)
        let error = audioError { try Array("fLaC".utf8).withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "live.flac", limits: limits) } }
        #expect(error == .timedOut(name: "live.flac", seconds: 0.5))
        #expect(ContinuousClock.now - started < .seconds(5))
        let grandchild = Int32((try String(contentsOf: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines))!
        try waitUntilGone(grandchild)
        #expect(childProcesses().isEmpty)
    }

    /// Cancellation (client gone, shutdown) stops a running decoder the same way.
    @Test func cancellationKillsTheDecoder() throws {
        let dir = try Self.fakeFFmpeg("cat > /dev/null; sleep 300")
        defer { try? FileManager.default.removeItem(at: dir) }
        let started = ContinuousClock.now
        let limits = AudioDecodeLimits(isCancelled: { ContinuousClock.now - started > .milliseconds(300) },
                                       ffmpegSearchPath: dir.path)
        let error = audioError { try Array("OggS".utf8).withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "a.ogg", limits: limits) } }
        #expect(error == .cancelled(name: "a.ogg"))
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(childProcesses().isEmpty)
    }

    /// A decoder that exits without reading its input makes our writes fail with EPIPE, which must
    /// be an error for this decode, not a SIGPIPE that kills the host process.
    @Test func aDecoderThatStopsReadingDoesNotKillUs() throws {
        let dir = try Self.fakeFFmpeg("echo 'gave up' >&2; exit 7")
        defer { try? FileManager.default.removeItem(at: dir) }
        let upload = Array("fLaC".utf8) + [UInt8](repeating: 0, count: 4 << 20)
        let error = audioError { try upload.withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "big.flac", limits: .init(ffmpegSearchPath: dir.path)) } }
        #expect(error == .decoderFailed(name: "big.flac", tool: "ffmpeg", status: 7, stderr: "gave up"))
    }

    /// The decoder inherits only its three pipes: none of our descriptors (sockets, model files),
    /// even one opened without close-on-exec.
    /// An MP4 upload (ffmpeg must seek it) reaches ffmpeg as a regular file on stdin that has no
    /// name left: no path in the arguments, nothing on disk for a kill -9 to leave behind.
    @Test func aSeekableUploadIsANamelessFileOnStdin() throws {
        let dir = try Self.fakeFFmpeg("""
            case "$*" in *"-protocol_whitelist file "*"-f mov -i file:/dev/stdin "*) ;; *) echo "bad args: $*" >&2; exit 3;; esac
            case "$(readlink /proc/$$/fd/0)" in *"(deleted)") ;; *) echo "stdin is $(readlink /proc/$$/fd/0)" >&2; exit 4;; esac
            [ "$(tail -c 9 /dev/stdin)" = "mp4 bytes" ] || { echo "bad contents" >&2; exit 5; }
            printf '\\000\\000\\200\\076'
            """)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes: [UInt8] = [0, 0, 0, 0x14] + Array("ftypM4A ".utf8) + [0, 0, 0, 0] + Array("mp4 bytes".utf8)
        let s = try bytes.withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "a.m4a", limits: .init(ffmpegSearchPath: dir.path)) }
        #expect(s.array == [0.25])
    }

    @Test func theDecoderInheritsNoDescriptors() throws {
        let inheritable = open("/dev/null", O_RDONLY)   // no O_CLOEXEC
        #expect(inheritable > 2)
        defer { close(inheritable) }
        let dir = try Self.fakeFFmpeg("[ -e /proc/$$/fd/\(inheritable) ] && { echo leaked >&2; exit 1; }; echo clean >&2; exit 2")
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = audioError { try Array("OggS".utf8).withUnsafeBytes { try AudioDecoder.decode(bytes: $0, name: "a.ogg", limits: .init(ffmpegSearchPath: dir.path)) } }
        #expect(error == .decoderFailed(name: "a.ogg", tool: "ffmpeg", status: 2, stderr: "clean"))
    }

    /// Only regular files are read: a FIFO would block (and its writer), a device never ends.
    @Test func specialFilesAreRefusedAtOnce() throws {
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-fifo-\(UUID())").path
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        #expect(audioError { try AudioDecoder.load(path: fifo) }
                == .unreadable(path: fifo, reason: "is a FIFO (named pipe), not a regular file"))
        #expect(audioError { try AudioDecoder.load(path: "/dev/zero") }
                == .unreadable(path: "/dev/zero", reason: "is a device, not a regular file"))
        let tmp = FileManager.default.temporaryDirectory.path
        #expect(audioError { try AudioDecoder.load(path: tmp) } == .unreadable(path: tmp, reason: "is a directory"))
    }
}

/// Waits (up to 5 s) until `pid` no longer exists.
func waitUntilGone(_ pid: Int32) throws {
    let deadline = ContinuousClock.now + .seconds(5)
    while kill(pid, 0) == 0 {
        if ContinuousClock.now > deadline { Issue.record("process \(pid) is still running"); return }
        usleep(20_000)
    }
}
