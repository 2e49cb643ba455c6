import Foundation
import Testing
import EarshotTensor
import EarshotTestSupport
@testable import EarshotAudio

/// Parity with the official implementation's goldens (WhisperFeatureExtractor in torch float32).
@Suite struct GoldenParityTests {
    /// mel computed from the golden `audio` matches the golden `mel` within 1e-4.
    @Test(arguments: Fixtures.goldenCases)
    func melMatchesGolden(name: String) throws {
        let file = try SafeTensorsFile(path: Fixtures.qwenTinyGolden(name).path)
        let audio = try file.tensor("audio").floatArray()
        let golden = try file.tensor("mel")
        let mel = try MelSpectrogram()
        let got = try audio.withUnsafeBufferPointer { try mel.compute($0, name: name) }
        #expect(got.shape == golden.shape)
        let want = golden.floatArray()
        guard got.array.count == want.count else { return }
        let err = zip(got.array, want).map { abs($0 - $1) }.max() ?? 0
        print("golden \(name): max |mel - golden| = \(err)")
        #expect(err <= 1e-4)
    }

    /// The fixture WAVs decode exactly to the golden `audio` (int16 / 32768), through `load`.
    @Test(arguments: ["fox", "long", "short"])
    func wavMatchesGoldenAudio(name: String) throws {
        let file = try SafeTensorsFile(path: Fixtures.qwenTinyGolden(name).path)
        let want = try file.tensor("audio").floatArray()
        let got = try AudioDecoder.load(path: Fixtures.qwenTinyAudio(name).path)
        #expect(got.sampleRate == 16_000)
        #expect(got.count == want.count)
        #expect(got.array == want)
    }
}
