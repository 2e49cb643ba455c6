import Foundation
import Testing
@testable import EarshotAudio

/// Fits `a sin(ωt) + b cos(ωt)` to `y[range]` at `frequency` (by correlation over a whole number
/// of periods) and returns the amplitude, phase and the RMS of what is left.
func fitTone(_ y: [Float], rate: Int, frequency: Double, range: Range<Int>)
    -> (amplitude: Double, phase: Double, residualRMS: Double) {
    var s = 0.0, c = 0.0
    for j in range {
        let w = 2 * Double.pi * frequency * Double(j) / Double(rate)
        s += Double(y[j]) * sin(w)
        c += Double(y[j]) * cos(w)
    }
    let a = 2 * s / Double(range.count), b = 2 * c / Double(range.count)
    var residual = 0.0
    for j in range {
        let w = 2 * Double.pi * frequency * Double(j) / Double(rate)
        let r = Double(y[j]) - (a * sin(w) + b * cos(w))
        residual += r * r
    }
    return ((a * a + b * b).squareRoot(), atan2(b, a), (residual / Double(range.count)).squareRoot())
}

func tone(_ frequency: Double, rate: Int, seconds: Double, amplitude: Double = 0.5) -> [Float] {
    (0..<Int(Double(rate) * seconds)).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
}

func dB(_ ratio: Double) -> Double { 20 * log10(ratio) }

@Suite struct ResamplerTests {
    /// A 1 kHz tone keeps its level (within 0.1 dB), phase and frequency from common rates.
    @Test(arguments: [44_100, 8_000, 22_050, 48_000, 11_025, 32_000])
    func toneKeepsFrequencyAndLevel(rate: Int) throws {
        let input = try AudioSamples(tone(1000, rate: rate, seconds: 1), sampleRate: rate)
        let out = try Resampler.resample(input, to: 16_000)
        #expect(out.sampleRate == 16_000)
        #expect(out.count == 16_000)   // ceil(count * 16000 / rate) for exactly 1 s
        // Middle 0.75 s: 750 whole periods of 16 samples, away from the edge transients.
        let fit = fitTone(out.array, rate: 16_000, frequency: 1000, range: 2000..<14_000)
        let levelError = dB(fit.amplitude / 0.5)
        let residual = dB(fit.residualRMS / (0.5 / 2.0.squareRoot()))
        print("resample \(rate) -> 16000: level error \(levelError) dB, phase \(fit.phase) rad, residual \(residual) dB")
        #expect(abs(levelError) < 0.1)
        #expect(abs(fit.phase) < 1e-3)          // no delay: the filter is centred
        #expect(residual < -60)                 // nothing but the 1 kHz tone is left
    }

    /// 12 kHz at 44.1 kHz is above the new 8 kHz Nyquist: it must be removed, not aliased to 4 kHz.
    /// 8.5 kHz checks the stop band just past the transition.
    @Test(arguments: [12_000.0, 8_500.0])
    func toneAboveNewNyquistIsRemoved(frequency: Double) throws {
        let input = try AudioSamples(tone(frequency, rate: 44_100, seconds: 1), sampleRate: 44_100)
        let out = try Resampler.resample(input, to: 16_000).array
        let middle = out[2000..<14_000]
        let rms = (middle.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(middle.count)).squareRoot()
        let level = dB(rms / (0.5 / 2.0.squareRoot()))
        print("alias residual \(frequency) Hz @ 44.1 kHz -> 16 kHz: \(level) dB")
        #expect(level < -60)
    }

    /// An odd ratio (more than 1024 phases) goes through the interpolated table and still works.
    @Test func irregularRatio() throws {
        let rate = 44_099
        let input = try AudioSamples(tone(1000, rate: rate, seconds: 1), sampleRate: rate)
        let out = try Resampler.resample(input, to: 16_000)
        let fit = fitTone(out.array, rate: 16_000, frequency: 1000, range: 2000..<14_000)
        #expect(abs(dB(fit.amplitude / 0.5)) < 0.1)
        #expect(dB(fit.residualRMS / (0.5 / 2.0.squareRoot())) < -60)
    }

    @Test func sameRateIsIdentityAndBadRatesAreErrors() throws {
        let s = try AudioSamples([0.1, 0.2, 0.3], sampleRate: 16_000)
        let same = try Resampler.resample(s, to: 16_000)
        #expect(same.storage === s.storage)
        #expect(audioError { try Resampler.resample(s, to: 0) } != nil)
        let bad = try AudioSamples([0.1], sampleRate: 0)
        #expect(audioError { try Resampler.resample(bad, to: 16_000) } != nil)
        let empty = try AudioSamples([], sampleRate: 8_000)
        #expect(audioError { try Resampler.resample(empty, to: 16_000) } == .emptyAudio(name: "resampler input"))
    }

    /// A constant signal stays constant (rows have unit DC gain) away from the edges.
    @Test func dcIsPreserved() throws {
        let s = try AudioSamples([Float](repeating: 0.25, count: 4410), sampleRate: 44_100)
        let out = try Resampler.resample(s, to: 16_000).array
        for v in out[200..<1400] { #expect(abs(v - 0.25) < 1e-5) }
    }
}
