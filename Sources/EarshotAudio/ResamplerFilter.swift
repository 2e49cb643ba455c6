import Foundation
import EarshotTensor

/// The band-limiting filter of the resampler: a Kaiser-windowed sinc, tabulated per phase.
///
/// Design (all in Double, stored Float):
/// - cutoff `fc = rolloff * 0.5 * lowerRate` — slightly below the lower Nyquist, so the Kaiser
///   transition band (width from the Kaiser formula for `attenuationDB` and the filter length)
///   ends at the lower Nyquist and everything above it is attenuated by ~90 dB;
/// - half-length `halfWidthLower` samples of the lower rate on each side (in input samples:
///   `halfWidthLower * inRate / lowerRate`, longer when downsampling);
/// - `h(t) = 2 fc sinc(2 fc t) * I0(beta sqrt(1 - (t/H)^2)) / I0(beta)`, t in input samples.
///
/// Rows: row `r` of `phases + 1` holds the taps for an output position `r / phases` of the way
/// between two input samples; row `phases` equals row 0 shifted by one tap (for interpolation).
/// For rational ratios with at most `maxExactPhases` phases every output lands exactly on a row;
/// otherwise neighbouring rows are linearly interpolated (error ~ 1/phases^2, below -100 dB).
/// Each row is normalised to unit DC gain. Layout `[phases + 1, taps]`, `taps` a multiple of 8.
struct ResamplerFilter: @unchecked Sendable {  // immutable after init; the table is read-only
    static let attenuationDB = 90.0
    static let halfWidthLower = 48.0
    static let maxExactPhases = 1024

    let upFactor: Int        // L: output rate / gcd
    let downFactor: Int      // M: input rate / gcd
    let phases: Int          // rows - 1
    let exact: Bool          // phases == L
    let halfTaps: Int        // K: taps reach K-1 samples before and K after the position
    let taps: Int            // row stride: 2K rounded up to a multiple of 8 (extra taps are zero)
    let table: PageBuffer    // [phases + 1, taps]
    let cutoffHz: Double

    init(inputRate: Int, outputRate: Int) throws(AudioError) {
        let g = gcd(inputRate, outputRate)
        upFactor = outputRate / g
        downFactor = inputRate / g
        exact = upFactor <= Self.maxExactPhases
        phases = exact ? upFactor : Self.maxExactPhases

        let lower = Double(min(inputRate, outputRate))
        let ratio = lower / Double(inputRate)                  // <= 1
        let a = Self.attenuationDB
        let beta = a > 50 ? 0.1102 * (a - 8.7) : 0.5842 * pow(a - 21, 0.4) + 0.07886 * (a - 21)
        // Kaiser: transition width (in cycles per lower-rate sample) for 2*halfWidth taps.
        let transition = (a - 7.95) / (14.36 * 2 * Self.halfWidthLower)
        let rolloff = 1 - transition                           // stop edge at 0.5
        let fc = 0.5 * rolloff * ratio                         // cycles per input sample
        cutoffHz = 0.5 * rolloff * lower
        let half = Self.halfWidthLower / ratio                 // H in input samples
        halfTaps = Int(half.rounded(.up))
        taps = (2 * halfTaps + 7) / 8 * 8

        table = try makeFloatBuffer(count: (phases + 1) * taps)
        let t0 = table.floats()
        let i0beta = besselI0(beta)
        for r in 0...phases {
            let phi = Double(r) / Double(phases)
            let row = t0 + r * taps
            var sum = 0.0
            var values = [Double](repeating: 0, count: 2 * halfTaps)
            for n in 0..<(2 * halfTaps) {
                let t = phi + Double(halfTaps - 1 - n)           // distance from tap to position
                guard abs(t) < half else { continue }
                let x = 2 * fc * t
                let sinc = x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
                let q = t / half
                let window = besselI0(beta * (1 - q * q).squareRoot()) / i0beta
                values[n] = 2 * fc * sinc * window
                sum += values[n]
            }
            for n in 0..<taps { row[n] = n < values.count ? Float(values[n] / sum) : 0 }
        }
    }
}

/// Modified Bessel function of the first kind, order 0 (power series; converges for all x).
func besselI0(_ x: Double) -> Double {
    var sum = 1.0
    var term = 1.0
    let y = x * x / 4
    var k = 1.0
    while term > sum * 1e-17 {
        term *= y / (k * k)
        sum += term
        k += 1
    }
    return sum
}

func gcd(_ a: Int, _ b: Int) -> Int {
    var (x, y) = (a, b)
    while y != 0 { (x, y) = (y, x % y) }
    return x
}
