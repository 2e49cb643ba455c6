import Foundation

/// Slaney-scale triangular mel filters with Slaney area normalisation (librosa / HF
/// `mel_filter_bank(norm: "slaney", mel_scale: "slaney")` in transformers' `audio_utils.py`).
///
/// Computed in Double like numpy, stored Float like `torch.from_numpy(filters).float()`.
/// Each filter is non-zero on a short run of FFT bins, so it is stored sparsely: the mel
/// projection `mel = Wᵀ P` touches only those bins (adding the zeros would not change the sum).
struct MelFilterBank: Sendable {
    /// One filter: weights for FFT bins `start ..< start + weights.count`.
    struct Filter: Sendable {
        let start: Int
        let weights: [Float]
    }

    let filters: [Filter]      // [mels]
    let frequencyBins: Int     // nFFT / 2 + 1

    /// Slaney mel scale: linear below 1 kHz (3 f / 200), logarithmic above.
    /// (Operation order follows the numpy reference so the float64 values agree to the last bit.)
    static func hertzToMel(_ f: Double) -> Double {
        f < 1000 ? 3 * f / 200 : 15 + log(f / 1000) * (27 / log(6.4))
    }

    static func melToHertz(_ m: Double) -> Double {
        m < 15 ? 200 * m / 3 : 1000 * exp(log(6.4) / 27 * (m - 15))
    }

    /// numpy `linspace(start, stop, count)`: `i * step + start`, last point exactly `stop`.
    static func linspace(_ start: Double, _ stop: Double, _ count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (stop - start) / Double(count - 1)
        return (0..<count).map { $0 == count - 1 ? stop : Double($0) * step + start }
    }

    init(mels: Int, frequencyBins: Int, sampleRate: Int, minHz: Double = 0, maxHz: Double? = nil) {
        self.frequencyBins = frequencyBins
        let top = maxHz ?? Double(sampleRate) / 2
        let weights = Self.dense(mels: mels, frequencyBins: frequencyBins, sampleRate: sampleRate,
                                 minHz: minHz, maxHz: top)
        filters = (0..<mels).map { m in
            let column = (0..<frequencyBins).map { weights[$0 * mels + m] }
            guard let first = column.firstIndex(where: { $0 != 0 }),
                  let last = column.lastIndex(where: { $0 != 0 }) else {
                return Filter(start: 0, weights: [])   // an empty filter (too many mels for the bins)
            }
            return Filter(start: first, weights: Array(column[first...last]))
        }
    }

    /// The dense `[frequencyBins, mels]` matrix W (row-major), as float32.
    static func dense(mels: Int, frequencyBins: Int, sampleRate: Int, minHz: Double, maxHz: Double) -> [Float] {
        let nyquist = Double(sampleRate) / 2
        // FFT bin centre frequencies: linspace(0, sr/2, bins).
        let fft = linspace(0, nyquist, frequencyBins)
        // mels + 2 edges equally spaced on the mel scale, back in Hz.
        let lo = hertzToMel(minHz), hi = hertzToMel(maxHz)
        let edges = linspace(lo, hi, mels + 2).map(melToHertz)
        var w = [Float](repeating: 0, count: frequencyBins * mels)
        for m in 0..<mels {
            let left = edges[m], centre = edges[m + 1], right = edges[m + 2]
            let norm = 2 / (right - left)                    // Slaney: unit area per filter
            for k in 0..<frequencyBins {
                let down = (fft[k] - left) / (centre - left)
                let up = (right - fft[k]) / (right - centre)
                let v = max(0, min(down, up))
                w[k * mels + m] = Float(v * norm)
            }
        }
        return w
    }
}
