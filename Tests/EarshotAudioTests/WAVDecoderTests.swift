import Foundation
import Testing
@testable import EarshotAudio

@Suite struct WAVDecoderTests {
    @Test func int16MonoIsExactlyDividedBy32768() throws {
        let values: [Int16] = [0, 1, -1, 32767, -32768, 12345, -23456]
        let wav = TestWAV(data: int16Bytes(values))
        let s = try wav.decode()
        #expect(s.sampleRate == 16_000)
        #expect(s.array == values.map { Float($0) / 32768 })
    }

    @Test func unsigned8BitIsCentredAt128() throws {
        let wav = TestWAV(sampleRate: 8_000, bitsPerSample: 8, data: [0, 128, 255, 64])
        let s = try wav.decode()
        #expect(s.array == [-1, 0, 127.0 / 128, -0.5])
        #expect(s.sampleRate == 8_000)
    }

    @Test func signed24BitSignExtends() throws {
        // 0x7FFFFF, -0x800000, 1, -1 as 3-byte little-endian.
        let data: [UInt8] = [0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0xFF]
        let s = try TestWAV(bitsPerSample: 24, data: data).decode()
        let scale: Float = 8_388_608
        let expected: [Float] = [8_388_607 / scale, -1, 1 / scale, -1 / scale]
        #expect(s.array == expected)
    }

    @Test func signed32Bit() throws {
        let values: [Int32] = [Int32.max, Int32.min, 1 << 30]
        let data = values.flatMap { le32(UInt32(bitPattern: $0)) }
        let s = try TestWAV(bitsPerSample: 32, data: data).decode()
        let expected: [Float] = [Float(Int32.max) / 2_147_483_648, -1, 0.5]
        #expect(s.array == expected)
    }

    @Test func floatFormats() throws {
        let f32 = try TestWAV(formatCode: 3, bitsPerSample: 32, data: float32Bytes([0.25, -0.5, 1.5])).decode()
        #expect(f32.array == [0.25, -0.5, 1.5])
        let f64 = try TestWAV(formatCode: 3, bitsPerSample: 64, data: float64Bytes([0.125, -0.75])).decode()
        #expect(f64.array == [0.125, -0.75])
    }

    @Test func extensibleSubFormats() throws {
        let pcm = try TestWAV(bitsPerSample: 16, extensible: true, data: int16Bytes([16384, -16384])).decode()
        #expect(pcm.array == [0.5, -0.5])
        let fl = try TestWAV(formatCode: 3, bitsPerSample: 32, extensible: true, data: float32Bytes([0.1])).decode()
        #expect(fl.array == [0.1])
    }

    @Test func channelsAreAveraged() throws {
        // Stereo frames (L, R): (0.5, -0.5), (0.25, 0.75); 3 channels: (0.3, 0.6, 0.9) as float.
        let stereo = try TestWAV(channels: 2, data: int16Bytes([16384, -16384, 8192, 24576])).decode()
        #expect(stereo.array == [0, 0.5])
        let three = try TestWAV(formatCode: 3, channels: 3, bitsPerSample: 32,
                                data: float32Bytes([0.3, 0.6, 0.9])).decode()
        #expect(three.count == 1)
        #expect(abs(three.array[0] - 0.6) < 1e-6)
    }

    @Test func unknownChunksAreSkippedIncludingOddPadding() throws {
        var wav = TestWAV(data: int16Bytes([1000, -1000]))
        wav.extraChunks = [("LIST", [1, 2, 3]), ("junk", [9]), ("fact", le32(2))]
        #expect(try wav.decode().array == [1000.0 / 32768, -1000.0 / 32768])
    }

    @Test func rf64WithDS64() throws {
        let wav = TestWAV(container: .rf64, data: int16Bytes([100, 200, 300]))
        #expect(try wav.decode().array == [100, 200, 300].map { Float($0) / 32768 })
    }

    @Test func trailingPartialFrameIsDropped() throws {
        // Stereo int16 with 6 bytes of data: one whole frame and half of another.
        var wav = TestWAV(channels: 2, data: int16Bytes([16384, 16384, 100]))
        wav.declaredDataSize = 6
        #expect(try wav.decode().array == [0.5])
    }

    @Test func loadFromFileResamplesAndConditions() throws {
        // 8 kHz int16 file -> load() gives 16 kHz, twice the samples.
        let tone = (0..<800).map { Int16(10000 * sin(2 * Double.pi * 440 * Double($0) / 8000)) }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-test-\(UUID()).wav")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(TestWAV(sampleRate: 8_000, data: int16Bytes(tone)).bytes()).write(to: url)
        let s = try AudioDecoder.load(path: url.path)
        #expect(s.sampleRate == 16_000)
        #expect(s.count == 1600)
        let peak = s.array.map(abs).max() ?? 0
        #expect(peak > 0.25 && peak <= 1)
    }

    @Test func conditioningDividesByPeakThenClips() throws {
        let loud = try AudioSamples([0.5, -2, 1], sampleRate: 16_000)
        #expect(try AudioDecoder.condition(loud).array == [0.25, -1, 0.5])
        #expect(loud.array == [0.5, -2, 1])   // input untouched
        let quiet = try AudioSamples([0.5, -1], sampleRate: 16_000)
        #expect(try AudioDecoder.condition(quiet).array == [0.5, -1])
    }

    @Test func nonWAVBytesWithoutFFmpegIsATypedError() {
        #expect(FFmpegDecoder.locate("ffmpeg", searchPath: "") == nil)
        let bytes: [UInt8] = Array("fLaC\u{0}\u{0}\u{0}\u{22}not really flac".utf8)
        let error = audioError {
            try bytes.withUnsafeBytes { raw in
                try AudioDecoder.decode(bytes: raw, name: "upload.flac", limits: .init(ffmpegSearchPath: ""))
            }
        }
        guard case .decoderMissing(let tool, let detail)? = error else {
            Issue.record("expected decoderMissing, got \(String(describing: error))"); return
        }
        #expect(tool == "ffmpeg")
        #expect(detail.contains("upload.flac"))
        #expect(detail == "upload.flac is FLAC audio and decoding it needs ffmpeg on PATH "
                + "(install ffmpeg, or convert the audio to WAV)")
    }

    @Test func missingFileIsTyped() {
        #expect(audioError { try AudioDecoder.load(path: "/nonexistent/x.wav") } == .fileNotFound(path: "/nonexistent/x.wav"))
    }
}
