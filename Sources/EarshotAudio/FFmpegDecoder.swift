import Foundation
import EarshotTensor

/// Decodes non-WAV formats (FLAC, MP3, OGG, M4A, ...) by running the `ffmpeg` program.
///
/// ffmpeg writes 16 kHz mono float32 little-endian samples to its stdout, which we point at a
/// temporary file (not a pipe): the samples never pass through the malloc heap, and there is no
/// pipe that could fill up and deadlock. The temporary file is mapped and copied into an owned
/// page buffer, then removed.
public enum FFmpegDecoder {
    /// The rate ffmpeg is asked to produce (the model's rate).
    public static let outputRate = 16_000
    /// How much of ffmpeg's stderr is kept in an error message.
    static let stderrLimit = 2_000

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

    /// Decodes the file at `path` to 16 kHz mono samples (not yet conditioned).
    public static func decode(path: String, name: String? = nil, searchPath: String? = nil)
        throws(AudioError) -> AudioSamples {
        let display = name ?? path
        guard let ffmpeg = locate("ffmpeg", searchPath: searchPath) else {
            throw .decoderMissing("ffmpeg", "\(display) is not a WAV file and decoding it needs ffmpeg on PATH "
                                  + "(install ffmpeg, or convert the audio to WAV)")
        }
        let tmp = FileManager.default.temporaryDirectory
        let token = UUID().uuidString
        let outURL = tmp.appendingPathComponent("earshot-\(token).f32")
        let errURL = tmp.appendingPathComponent("earshot-\(token).err")
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
              FileManager.default.createFile(atPath: errURL.path, contents: nil),
              let outHandle = try? FileHandle(forWritingTo: outURL),
              let errHandle = try? FileHandle(forWritingTo: errURL) else {
            throw .unreadable(path: tmp.path, reason: "cannot create temporary files for ffmpeg output")
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: ffmpeg)
        process.arguments = ["-nostdin", "-v", "error", "-i", path,
                             "-f", "f32le", "-ac", "1", "-ar", String(outputRate), "-"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        do {
            try process.run()
        } catch {
            try? outHandle.close()
            try? errHandle.close()
            throw .decoderFailed(name: display, tool: "ffmpeg", status: -1, stderr: "cannot start \(ffmpeg): \(error)")
        }
        process.waitUntilExit()
        try? outHandle.close()
        try? errHandle.close()

        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            let short = trimmed.count > stderrLimit ? String(trimmed.prefix(stderrLimit)) + "..." : trimmed
            throw .decoderFailed(name: display, tool: "ffmpeg", status: process.terminationStatus,
                                 stderr: short.isEmpty ? "(no error output)" : short)
        }
        return try readFloats(path: outURL.path, name: display)
    }

    /// Copies a raw f32le file into an owned page buffer, rejecting non-finite samples.
    static func readFloats(path: String, name: String) throws(AudioError) -> AudioSamples {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let count = size / MemoryLayout<Float>.stride
        guard count > 0 else { throw .emptyAudio(name: name) }
        let mapped: PageBuffer
        do { mapped = try PageBuffer(mappingFile: path, owner: .audio) } catch {
            throw AudioError.from(error, path: path)
        }
        defer { mapped.close() }
        let usable = min(count, mapped.byteCount / MemoryLayout<Float>.stride)
        guard usable > 0 else { throw .emptyAudio(name: name) }
        let out = try makeFloatBuffer(count: usable)
        let src = UnsafeRawPointer(mapped.raw)
        let dst = out.floats()
        for i in 0..<usable {
            let v = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            guard v.isFinite else {
                throw .invalidSample(name: name, index: i, value: v.isNaN ? "NaN" : (v > 0 ? "+Inf" : "-Inf"))
            }
            dst[i] = v
        }
        return AudioSamples(storage: out, count: usable, sampleRate: outputRate)
    }
}
