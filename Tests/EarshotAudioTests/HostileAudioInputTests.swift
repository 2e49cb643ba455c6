import Foundation
import Testing
@testable import EarshotAudio

/// The audio rows of the hostile-input table (RELIABILITY.md): each input, made here, gets its
/// typed error, and none allocates more than the input itself.
@Suite struct HostileAudioInputTests {
    static func tempFile(_ bytes: [UInt8], name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-hostile-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @Test func zeroLengthFile() throws {
        let path = try Self.tempFile([], name: "empty.wav")
        #expect(audioError { try AudioDecoder.load(path: path) } == .emptyAudio(name: "empty.wav"))
    }

    /// RIFF and fmt with no data chunk at all.
    @Test func headerOnlyWAV() {
        let full = TestWAV(data: int16Bytes([1, 2])).bytes()
        let headerOnly = Array(full.prefix(36))   // RIFF header + fmt chunk, the data chunk cut away
        guard case .truncated(let name, _)? = audioError({ try decodeWAVBytes(headerOnly, name: "h.wav") }) else {
            Issue.record("expected truncated"); return
        }
        #expect(name == "h.wav")
    }

    @Test func zeroAnd65535Channels() {
        let zero = audioError { try TestWAV(channels: 0, data: [0, 0]).decode() }
        guard case .corruptHeader(_, let reason)? = zero else { Issue.record("got \(String(describing: zero))"); return }
        #expect(reason.contains("0 channels"))
        // 65,535 channels of 16 bits: a block align of 131,070 bytes cannot be stated in 16 bits.
        let many = audioError { try TestWAV(channels: 65_535, data: [UInt8](repeating: 0, count: 64)).decode() }
        guard case .corruptHeader? = many else { Issue.record("got \(String(describing: many))"); return }
    }

    @Test func sampleRates0And4GHz() {
        for rate: UInt32 in [0, 4_000_000_000] {
            let error = audioError { try TestWAV(sampleRate: rate, data: [0, 0, 0, 0]).decode() }
            guard case .corruptHeader(_, let reason)? = error else { Issue.record("\(rate): \(String(describing: error))"); continue }
            #expect(reason.contains("sample rate \(rate) Hz"))
        }
    }

    @Test func textNamedMP3() {
        let error = audioError { try AudioDecoder.decode(data: Data("Hello, this is not audio.\n".utf8), name: "song.mp3") }
        guard case .unsupportedFormat(let name, let reason)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(name == "song.mp3" && reason.contains("text"))
    }

    /// Unknown binary bytes under an audio name are refused before any process starts.
    @Test func unknownBinaryNamedM4A() {
        let bytes: [UInt8] = (0..<256).map { UInt8(($0 * 37 + 11) & 0xFF) }
        let error = audioError { try AudioDecoder.decode(data: Data(bytes), name: "x.m4a", limits: .init(ffmpegSearchPath: "")) }
        guard case .unsupportedFormat(_, let reason)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(reason.contains("match none"))
    }

    @Test func symlinkLoopAndDanglingLink() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-links-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(symlink(dir + "/b.wav", dir + "/a.wav") == 0 && symlink(dir + "/a.wav", dir + "/b.wav") == 0)
        guard case .unreadable(_, let reason)? = audioError({ try AudioDecoder.load(path: dir + "/a.wav") }) else {
            Issue.record("expected unreadable"); return
        }
        #expect(reason.lowercased().contains("symbolic links"))
        #expect(symlink(dir + "/missing.wav", dir + "/dangling.wav") == 0)
        #expect(audioError { try AudioDecoder.load(path: dir + "/dangling.wav") } == .fileNotFound(path: dir + "/dangling.wav"))
    }

    /// A file nobody may read (root reads everything, so this row runs for other users only; as
    /// root, a path through a regular file stands in: the kernel refuses it the same way).
    @Test func unreadableFile() throws {
        let path = try Self.tempFile(TestWAV(data: int16Bytes([1, 2])).bytes(), name: "locked.wav")
        if getuid() != 0 {
            #expect(chmod(path, 0) == 0)
            guard case .unreadable? = audioError({ try AudioDecoder.load(path: path) }) else { Issue.record("expected unreadable"); return }
        }
        let through = path + "/inside.wav"
        guard case .unreadable(_, let reason)? = audioError({ try AudioDecoder.load(path: through) }) else {
            Issue.record("expected unreadable"); return
        }
        #expect(reason.lowercased().contains("not a directory"))
    }

    /// NaN and infinities in float samples are named, not passed to the model.
    @Test func nanAndInfSamples() {
        for (value, word) in [(Float.nan, "NaN"), (Float.infinity, "+Inf"), (-Float.infinity, "-Inf")] {
            var wav = TestWAV(bitsPerSample: 32, data: float32Bytes([0.5, value]))
            wav.formatCode = 3
            #expect(audioError { try wav.decode(name: "f.wav") } == .invalidSample(name: "f.wav", index: 1, value: word))
        }
    }
}
