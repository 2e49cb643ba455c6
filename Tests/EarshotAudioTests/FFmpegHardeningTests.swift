import Foundation
import Testing
@testable import EarshotAudio
import EarshotTestSupport

/// The real ffmpeg against hostile uploads: playlists that name the server's files, decoders that
/// never end, decode bombs. These need ffmpeg on PATH; `scripts/test` sets EARSHOT_REQUIRE_FFMPEG=1
/// so that they fail rather than skip there.
@Suite(.enabled(if: FFmpegAvailability.enabled)) struct FFmpegHardeningTests {
    static let formats = Fixtures.root.appendingPathComponent("audio-formats")
    static var foxWAV: URL { Fixtures.qwenTinyAudio("fox") }

    @Test(arguments: ["flac", "mp3", "ogg", "opus", "m4a", "webm"])
    func everySupportedContainerDecodes(ext: String) throws {
        let reference = try AudioDecoder.load(path: Self.foxWAV.path)
        let url = Self.formats.appendingPathComponent("fox.\(ext)")
        let fromFile = try AudioDecoder.load(path: url.path)
        let upload = try Data(contentsOf: url)
        let fromBytes = try AudioDecoder.decode(data: upload, name: "upload")   // no extension: sniffed
        #expect(fromFile.array == fromBytes.array)
        #expect(fromFile.sampleRate == 16_000)
        // Lossy codecs pad and delay a little; the length is the clip's within 0.1 s.
        #expect(abs(fromFile.duration - reference.duration) < 0.1, "\(ext): \(fromFile.duration) s")
        if ext == "flac" { #expect(fromFile.array == reference.array) }   // lossless: bit-exact
    }

    /// The reported hole: an HLS playlist naming a file of the server's, uploaded under any name,
    /// was decoded by ffmpeg and the file's transcript returned. Now it is refused unread.
    @Test(arguments: ["x.wav", "x.m3u8", "x", "x.flac", "x.mp3"])
    func playlistUploadsAreRefused(name: String) {
        let target = Self.formats.appendingPathComponent("fox.flac").path
        for playlist in [
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n\(target)\n#EXT-X-ENDLIST\n",
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://\(target)\n",   // "live": no ENDLIST
            "\u{FEFF}#EXTM3U\n#EXTINF:10,\n\(target)\n",
            "ffconcat version 1.0\nfile '\(target)'\n",
            "[playlist]\nFile1=\(target)\n",
        ] {
            let error = audioError { try AudioDecoder.decode(data: Data(playlist.utf8), name: name) }
            guard case .unsupportedFormat(let n, let reason)? = error else {
                Issue.record("\(name): expected unsupportedFormat, got \(String(describing: error))"); continue
            }
            #expect(n == name)
            #expect(reason.contains("playlist") || reason.contains("text"), "\(reason)")
            #expect(!(error?.description.contains(target) ?? true), "the message must not echo server paths")
        }
    }

    /// ffmpeg's stderr reaches clients, so it must not carry the server's temporary paths.
    @Test func decoderErrorsDoNotNameServerPaths() {
        var corrupt = Array("\u{0}\u{0}\u{0}\u{18}ftypM4A \u{0}\u{0}\u{0}\u{0}".utf8)
        corrupt += [UInt8](repeating: 0x41, count: 4096)
        let error = audioError { try AudioDecoder.decode(data: Data(corrupt), name: "broken.m4a") }
        guard case .decoderFailed(let name, _, let status, let stderr)? = error else {
            Issue.record("expected decoderFailed, got \(String(describing: error))"); return
        }
        #expect(name == "broken.m4a" && status != 0)
        #expect(!stderr.contains(NSTemporaryDirectory()) && !stderr.contains("earshot-"), "\(stderr)")
    }

    /// The duration limit is read from headers before anything is decoded: a FLAC whose
    /// STREAMINFO claims 3 hours, a WAV declaring 100 Hz (4 MB = 20,000 s).
    @Test func declaredDurationOverTheLimitIsRefusedBeforeDecoding() throws {
        var flac = [UInt8](try Data(contentsOf: Self.formats.appendingPathComponent("fox.flac")))
        let threeHours = 3 * 3600 * 16_000   // total samples at 16 kHz: 36-bit field at bytes 21..25
        flac[21] = (flac[21] & 0xF0) | UInt8((threeHours >> 32) & 0x0F)
        flac[22] = UInt8((threeHours >> 24) & 0xFF); flac[23] = UInt8((threeHours >> 16) & 0xFF)
        flac[24] = UInt8((threeHours >> 8) & 0xFF); flac[25] = UInt8(threeHours & 0xFF)
        let limits = AudioDecodeLimits(maxSeconds: 7200)
        let flacError = audioError { try AudioDecoder.decode(data: Data(flac), name: "silence.flac", limits: limits) }
        #expect(flacError == .tooLong(name: "silence.flac", seconds: 10_800, limitSeconds: 7200))

        let wav = TestWAV(sampleRate: 100, data: [UInt8](repeating: 0, count: 4_000_000)).bytes()
        let wavError = audioError { try AudioDecoder.decode(data: Data(wav), name: "slow.wav", limits: limits) }
        #expect(wavError == .tooLong(name: "slow.wav", seconds: 20_000, limitSeconds: 7200))
        // Without a limit (the CLI's default) both still decode.
        let short = TestWAV(sampleRate: 100, data: [UInt8](repeating: 0, count: 800)).bytes()
        #expect(try AudioDecoder.decode(data: Data(short), name: "s.wav").count == 64_000)
    }

    /// Containers without a declared length are cut while decoding: ffmpeg is killed as soon as
    /// the samples pass the limit, so memory stays at the limit, not at the file's real length.
    @Test func decodedDurationIsCutAtTheLimit() throws {
        let url = Self.formats.appendingPathComponent("fox.mp3")
        let limits = AudioDecodeLimits(maxSeconds: 2)
        let error = audioError { try AudioDecoder.load(path: url.path, limits: limits) }
        #expect(error == .tooLong(name: "fox.mp3", seconds: nil, limitSeconds: 2))
        #expect(error?.description == "fox.mp3: audio is longer than the limit of 2 s (decoding stopped there)")
        #expect(try AudioDecoder.load(path: url.path, limits: .init(maxSeconds: 5)).duration > 4)
    }

    /// Fifty decodes leave no descriptor and no child process behind.
    @Test func repeatedDecodesLeakNoDescriptorsOrChildren() throws {
        let upload = try Data(contentsOf: Self.formats.appendingPathComponent("fox.ogg"))
        _ = try AudioDecoder.decode(data: upload, name: "warm.ogg")
        let before = openDescriptorCount()
        for _ in 0..<50 { _ = try AudioDecoder.decode(data: upload, name: "x.ogg") }
        #expect(openDescriptorCount() == before)
        #expect(childProcesses().isEmpty, "\(childProcesses())")
    }
}

enum FFmpegAvailability {
    static var enabled: Bool {
        if ProcessInfo.processInfo.environment["EARSHOT_REQUIRE_FFMPEG"] == "1" { return true }
        return FFmpegDecoder.locate() != nil
    }
}

/// Open descriptors of this process.
func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

/// Pids of this process's live (or unreaped) children, from /proc.
func childProcesses() -> [Int] {
    let me = getpid()
    let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return pids.compactMap(Int.init).filter { pid in
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == me
    }
}
