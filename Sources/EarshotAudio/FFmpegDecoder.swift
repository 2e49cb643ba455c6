#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import EarshotTensor

/// Decodes the containers Earshot does not parse itself (FLAC, MP3, Ogg, M4A, ...) with the
/// `ffmpeg` program, reading only the bytes it is given.
///
/// - The container was recognised by `AudioContainer.sniff`; its one demuxer is forced (`-f`) and
///   is the only one allowed (`-format_whitelist`), so ffmpeg never probes its way into a
///   playlist or concat script that names other files.
/// - The bytes go in through a pipe and `-protocol_whitelist pipe`: ffmpeg can open nothing else.
///   MP4 needs a seekable input (see `needsSeekableInput`), so it gets a private temporary copy
///   and `-protocol_whitelist file` — with the demuxer forced, that file is all it reads.
/// - Samples come back through a pipe in 16 kHz mono f32le, straight into a growing page buffer
///   (no temporary file, nothing on the malloc heap), and are counted as they arrive: past the
///   duration limit, on cancellation or at the deadline, ffmpeg's process group is killed.
public enum FFmpegDecoder {
    /// The rate ffmpeg is asked to produce (the model's rate).
    public static let outputRate = 16_000
    /// How much of ffmpeg's stderr is kept in an error message.
    static let stderrLimit = 2_000
    /// How often the loop wakes to check cancellation and the deadline with nothing to read.
    static let pollIntervalMs: Int32 = 50

    /// Finds an executable named `tool` in the colon-separated `searchPath` (default: `$PATH`).
    /// Pass an explicit (possibly empty) path to control the lookup, e.g. in tests.
    public static func locate(_ tool: String = "ffmpeg", searchPath: String? = nil) -> String? {
        let path = searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = String(dir) + "/" + tool
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The arguments for one decode: the forced demuxer, the whitelists, and 16 kHz mono f32le
    /// of the first audio stream to stdout.
    static func arguments(demuxer: String, input: String, fromPipe: Bool) -> [String] {
        ["-nostdin", "-hide_banner", "-loglevel", "error",
         "-protocol_whitelist", fromPipe ? "pipe" : "file",
         "-format_whitelist", demuxer, "-f", demuxer, "-i", input,
         "-map", "0:a:0", "-vn", "-sn", "-dn",
         "-ac", "1", "-ar", String(outputRate), "-f", "f32le", "pipe:1"]
    }

    /// Decodes `bytes` (a whole file of the given container) to 16 kHz mono samples, not yet
    /// conditioned. `filePath` is where the same bytes already live on disk, if anywhere (the
    /// CLI's files), so an MP4 is not copied; uploads pass nil.
    public static func decode(bytes: UnsafeRawBufferPointer, container: AudioContainer, name: String,
                              filePath: String? = nil, limits: AudioDecodeLimits) throws(AudioError) -> AudioSamples {
        guard let demuxer = container.demuxer else {
            throw .invalidParameter("\(container.rawValue) is decoded natively, not by ffmpeg")
        }
        guard let ffmpeg = limits.ffmpegPath ?? locate("ffmpeg", searchPath: limits.ffmpegSearchPath) else {
            throw .decoderMissing("ffmpeg", "\(name) is \(container.rawValue.uppercased()) audio and decoding it needs ffmpeg "
                                  + "on PATH (install ffmpeg, or convert the audio to WAV)")
        }
        // Seekable containers (MP4) read a regular file on stdin as `file:/dev/stdin`: the CLI's own
        // file, or an upload's private copy that is unlinked before it is written, so ffmpeg is
        // given no path at all and a kill -9 at any moment leaves nothing on disk.
        var file: Int32 = -1
        defer { if file >= 0 { _ = close(file) } }
        if container.needsSeekableInput {
            if let filePath { file = open(filePath, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
            if file < 0 { file = try UnlinkedTemporaryFile.holding(bytes) }
        }
        let input = file >= 0 ? "file:/dev/stdin" : "pipe:0"
        let fromPipe = file < 0
        let child = try ChildProcess(executable: ffmpeg, arguments: arguments(demuxer: demuxer, input: input, fromPipe: fromPipe),
                                     input: fromPipe ? .pipe : .descriptor(file))
        defer { child.terminate() }
        let run = FFmpegRun(child: child, input: fromPipe ? bytes : nil, name: name, limits: limits)
        let outcome = try run.pump()
        guard outcome.status == 0 else {
            throw .decoderFailed(name: name, tool: "ffmpeg", status: outcome.status,
                                 stderr: scrub(outcome.stderr, input: input, name: name))
        }
        return try outcome.samples.finish(name: name)
    }

    /// ffmpeg's message with the input's name in place of `pipe:0` or `/dev/stdin`, so an
    /// error shown to a client names its file and nothing of the server's.
    static func scrub(_ stderr: String, input: String, name: String) -> String {
        var text = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        for spelled in [input, String(input.dropFirst("file:".count))] where spelled.count > 1 {
            text = text.replacingOccurrences(of: spelled, with: name)
        }
        if text.count > stderrLimit { text = String(text.prefix(stderrLimit)) + "..." }
        return text.isEmpty ? "(no error output)" : text
    }
}

/// Bytes in a file that has no name: created in a fresh 0700 directory, unlinked (with the
/// directory) at once, then written through its descriptor. Only the descriptor reaches it, and
/// it is gone when the last copy of that is closed, even if the process is killed.
enum UnlinkedTemporaryFile {
    /// The open descriptor (read-write, offset at 0); the caller closes it.
    static func holding(_ bytes: UnsafeRawBufferPointer) throws(AudioError) -> Int32 {
        var template = Array((NSTemporaryDirectory() + "earshot-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw .unreadable(path: "<temporary directory>", reason: "cannot create: \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: made), path = directory + "/input"
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        let openError = errno
        unlink(path)
        rmdir(directory)
        guard fd >= 0 else {
            throw .unreadable(path: "<temporary file>", reason: "cannot create: \(String(cString: strerror(openError)))")
        }
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                _ = close(fd)
                throw .unreadable(path: "<temporary file>", reason: "cannot write: \(reason)")
            }
            offset += n
        }
        guard lseek(fd, 0, SEEK_SET) == 0 else {
            let reason = String(cString: strerror(errno))
            _ = close(fd)
            throw .unreadable(path: "<temporary file>", reason: "cannot rewind: \(reason)")
        }
        return fd
    }
}
