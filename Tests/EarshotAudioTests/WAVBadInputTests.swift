import Foundation
import Testing
@testable import EarshotAudio

/// One test per kind of bad input: each must be a typed error with a useful message, never a trap.
@Suite struct WAVBadInputTests {
    @Test func truncatedHeader() {
        let full = TestWAV(data: int16Bytes([1, 2, 3])).bytes()
        for length in [0, 5, 11, 20, 36, 43] {
            let error = audioError {
                try decodeWAVBytes(Array(full.prefix(length)), name: "cut.wav")
            }
            guard case .truncated(let name, _)? = error else {
                Issue.record("length \(length): expected truncated, got \(String(describing: error))"); continue
            }
            #expect(name == "cut.wav")
        }
    }

    @Test func corruptHeader() {
        var bytes = TestWAV(data: int16Bytes([1, 2])).bytes()
        bytes[8] = UInt8(ascii: "X")   // "XAVE"
        let error = audioError { try decodeWAVBytes(bytes, name: "bad.wav") }
        guard case .corruptHeader(_, let reason)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(reason.contains("WAVE"))
        // Zero channels, and a block align that does not match the format.
        let zeroChannels = audioError { try TestWAV(channels: 0, data: [0, 0]).decode() }
        #expect(zeroChannels?.description.contains("0 channels") == true)
        var wrongAlign = TestWAV(data: int16Bytes([1, 2])).bytes()
        wrongAlign[32] = 4   // block align field of fmt (offset 20 + 12)
        let alignError = audioError { try decodeWAVBytes(wrongAlign, name: "align.wav") }
        #expect(alignError?.description.contains("block align") == true)
    }

    @Test func zeroLengthData() {
        #expect(audioError { try TestWAV(data: []).decode(name: "empty.wav") } == .emptyAudio(name: "empty.wav"))
    }

    @Test func nanAndInfSamplesAreNamed() {
        let nan = audioError { try TestWAV(formatCode: 3, bitsPerSample: 32,
                                           data: float32Bytes([0, 0.5, .nan])).decode(name: "nan.wav") }
        #expect(nan == .invalidSample(name: "nan.wav", index: 2, value: "NaN"))
        let inf = audioError { try TestWAV(formatCode: 3, bitsPerSample: 64,
                                           data: float64Bytes([-.infinity])).decode(name: "inf.wav") }
        #expect(inf == .invalidSample(name: "inf.wav", index: 0, value: "-Inf"))
        #expect(nan?.description.contains("sample 2") == true)
    }

    @Test func unsupportedEncodingNamesTheFormat() {
        let alaw = audioError { try TestWAV(formatCode: 6, bitsPerSample: 8, data: [1, 2]).decode(name: "a.wav") }
        guard case .unsupportedEncoding(_, let code, let reason)? = alaw else { Issue.record("got \(String(describing: alaw))"); return }
        #expect(code == 6)
        #expect(reason == "A-law")
        #expect(alaw?.description.contains("0x6") == true)
        let adpcm = audioError { try TestWAV(formatCode: 0x11, bitsPerSample: 4, data: [1, 2]).decode() }
        #expect(adpcm?.description.contains("IMA ADPCM") == true)
        let pcm12 = audioError { try TestWAV(bitsPerSample: 12, data: [1, 2]).decode() }
        #expect(pcm12?.description.contains("12 bits") == true)
    }

    @Test func rf64WithoutDS64() {
        let error = audioError { try TestWAV(container: .rf64WithoutDS64, data: int16Bytes([1])).decode(name: "r.wav") }
        guard case .corruptHeader(let name, let reason)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(name == "r.wav")
        #expect(reason.contains("ds64"))
    }

    @Test func hostileChunkSizes() throws {
        // A data chunk claiming 4 GiB over 6 real bytes: clamped to the file, no huge allocation.
        var clamp = TestWAV(data: int16Bytes([1, 2, 3]))
        clamp.declaredDataSize = 0xFFFF_FFF0
        #expect(try clamp.decode().count == 3)
        // Claiming more than the file with less than one whole frame present: an error.
        var partial = TestWAV(bitsPerSample: 32, data: [1, 2])
        partial.formatCode = 3
        partial.declaredDataSize = 0x7FFF_FFFF
        guard case .truncated? = audioError({ try partial.decode() }) else { Issue.record("expected truncated"); return }
        // A non-data chunk whose size runs past the end of the file.
        var bytes = TestWAV(data: int16Bytes([1])).bytes()
        bytes.replaceSubrange(16..<20, with: le32(0xFFFF_FFFF))   // fmt chunk size
        let fmtError = audioError { try decodeWAVBytes(bytes, name: "h.wav") }
        #expect(fmtError?.description.contains("declares 4294967295 bytes") == true)
        // Absurd channel count and sample rate.
        #expect(audioError { try TestWAV(channels: 2000, data: [0, 0]).decode() } != nil)
        #expect(audioError { try TestWAV(sampleRate: 0xFFFF_FFFF, data: [0, 0]).decode() } != nil)
    }
}
