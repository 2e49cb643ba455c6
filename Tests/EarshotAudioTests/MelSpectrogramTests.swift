import Foundation
import Testing
import EarshotTestSupport
@testable import EarshotAudio

/// A direct Double-precision reference of the Whisper log-mel (`WhisperFeatureExtractor`), for small inputs:
/// numpy-style reflect padding, explicit DFT per bin, dense filters, log, clamp, scale.
func referenceLogMel(_ x: [Float], bins: Int = 128) -> [Double] {
    let nFFT = 400, hop = 160, F = 201, n = x.count
    let frames = n / hop
    let period = 2 * (n - 1)
    func sample(_ i: Int) -> Double {
        var s = i
        if s < 0 || s >= n {
            s = period == 0 ? 0 : ((s % period) + period) % period
            if s >= n { s = period - s }
        }
        return Double(x[s])
    }
    let w = MelFilterBank.dense(mels: bins, frequencyBins: F, sampleRate: 16_000, minHz: 0, maxHz: 8000)
    var out = [Double](repeating: 0, count: bins * frames)
    for t in 0..<frames {
        var power = [Double](repeating: 0, count: F)
        for k in 0..<F {
            var re = 0.0, im = 0.0
            for j in 0..<nFFT {
                let v = sample(hop * t - nFFT / 2 + j) * (0.5 - 0.5 * cos(2 * Double.pi * Double(j) / Double(nFFT)))
                let a = 2 * Double.pi * Double(k * j % nFFT) / Double(nFFT)
                re += v * cos(a)
                im -= v * sin(a)
            }
            power[k] = re * re + im * im
        }
        for m in 0..<bins {
            var s = 0.0
            for k in 0..<F { s += Double(w[k * bins + m]) * power[k] }
            out[m * frames + t] = log10(max(s, 1e-10))
        }
    }
    let top = out.max() ?? 0
    return out.map { (max($0, top - 8) + 4) / 4 }
}

@Suite struct MelSpectrogramTests {
    let mel = try! MelSpectrogram()

    @Test func shapeIsBinsByFloorOfSamplesOverHop() throws {
        var rng = SeededRandom(seed: 1)
        let x = rng.floats(16_000 + 159, scale: 0.3)
        let m = try x.withUnsafeBufferPointer { try mel.compute($0) }
        #expect(m.shape == [128, 100])
        let m80 = try MelSpectrogram(bins: 80)
        #expect(try x.withUnsafeBufferPointer { try m80.compute($0) }.shape == [80, 100])
    }

    /// Random noise plus a tone, against the Double reference, including both padded edges.
    @Test(arguments: [160, 170, 201, 350, 1000, 3333])
    func matchesDoubleReference(count: Int) throws {
        var rng = SeededRandom(seed: UInt64(count))
        let x = zip(rng.floats(count, scale: 0.1), 0..<count).map { v, i in
            v + 0.5 * Float(sin(2 * Double.pi * 440 * Double(i) / 16_000))
        }
        let got = try x.withUnsafeBufferPointer { try mel.compute($0) }.array
        let want = referenceLogMel(x)
        #expect(got.count == want.count)
        let err = zip(got, want).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(err < 1e-4, "max error \(err) for \(count) samples")
    }

    @Test func toneLandsInItsMelBin() throws {
        let x = tone(1000, rate: 16_000, seconds: 0.5)
        let m = try x.withUnsafeBufferPointer { try mel.compute($0) }
        let frame = m.frames / 2
        let column = (0..<m.bins).map { m[$0, frame] }
        let peak = column.indices.max { column[$0] < column[$1] }!
        // The filter whose centre is closest to 1 kHz.
        let centres = MelFilterBank.linspace(0, MelFilterBank.hertzToMel(8000), 130).map(MelFilterBank.melToHertz)
        let expected = (1...128).min { abs(centres[$0] - 1000) < abs(centres[$1] - 1000) }! - 1
        #expect(abs(peak - expected) <= 1)
    }

    @Test func tinyAndEmptyInputsAreErrors() {
        #expect(audioError { try [Float]().withUnsafeBufferPointer { try mel.compute($0, name: "e") } } == .emptyAudio(name: "e"))
        #expect(audioError { try [Float](repeating: 0.1, count: 100).withUnsafeBufferPointer { try mel.compute($0, name: "s") } }
                == .tooShort(name: "s", samples: 100, minimum: 160))
        #expect(audioError { try MelSpectrogram(bins: 0) } != nil)
        #expect(audioError { try MelSpectrogram(nFFT: 401) } != nil)
        // Silence is valid: everything sits at the floor log10(1e-10) = -10 -> (-10 + 4) / 4.
        let silent = try? [Float](repeating: 0, count: 480).withUnsafeBufferPointer { try mel.compute($0) }
        #expect(silent?.array.allSatisfy { $0 == -1.5 } == true)
    }

    @Test func wrongRateIsAnError() throws {
        let s = try AudioSamples([Float](repeating: 0, count: 1000), sampleRate: 8000)
        #expect(audioError { try mel.compute(s) } != nil)
    }
}

@Suite struct MelInputValidationTests {
    @Test func nonFiniteSamplesAreNamed() throws {
        let mel = try MelSpectrogram()
        var x = [Float](repeating: 0.1, count: 800)
        x[321] = .nan
        #expect(audioError { try x.withUnsafeBufferPointer { try mel.compute($0, name: "n") } }
                == .invalidSample(name: "n", index: 321, value: "NaN"))
    }
}
