import Foundation
import EarshotTensor

/// Whisper-style log-mel features (transformers' `WhisperFeatureExtractor._np_extract_fbank_features`), exactly:
/// periodic Hann window, centre reflect padding, an exact `nFFT`-point DFT (no zero-padding to a
/// power of two), power spectrum, last frame dropped (`T = floor(N / hop)`), Slaney mel filters,
/// `log10(max(mel, 1e-10))`, clamped at (clip max - 8), then `(x + 4) / 4`.
///
/// The DFT is a matrix product (`Kernels.gemm`, the system BLAS): frames `[B, nFFT]` times the
/// windowed basis `[2 * F, nFFT]`ᵀ (rows `w[n] cos(2πkn/N)` then `w[n] sin(2πkn/N)`, computed in
/// Double, stored Float; F = nFFT/2 + 1 bins) gives `[B, 2 * F]` real and imaginary parts.
/// Frames are processed in blocks of `blockFrames`, so besides the output the only buffers are
/// two block-sized scratch matrices — never a whole-clip power spectrogram.
///
/// Immutable after init, so one instance can be shared by all sessions.
public struct MelSpectrogram: Sendable {
    public let bins: Int
    public let sampleRate: Int
    public let nFFT: Int
    public let hop: Int
    /// FFT bins, `nFFT / 2 + 1` (201 for 400).
    public let frequencyBins: Int
    let filterBank: MelFilterBank
    /// `[2 * frequencyBins, nFFT]`: windowed cos rows, then windowed sin rows (643 KB for 400,
    /// so it lives in a page buffer, shared read-only by every copy of this value).
    let basis: PageBuffer
    static let blockFrames = 256

    public init(bins: Int = 128, sampleRate: Int = 16_000, nFFT: Int = 400, hop: Int = 160) throws(AudioError) {
        guard bins >= 1, bins <= 512 else { throw .invalidParameter("mel bins \(bins) out of range 1...512") }
        guard nFFT >= 2, nFFT <= 8192, nFFT % 2 == 0 else {
            throw .invalidParameter("nFFT \(nFFT) must be even and in 2...8192")
        }
        guard hop >= 1, hop <= nFFT else { throw .invalidParameter("hop \(hop) must be in 1...nFFT (\(nFFT))") }
        guard sampleRate >= 1, sampleRate <= WAVHeaderParser.maxSampleRate else {
            throw .invalidParameter("sample rate \(sampleRate) Hz is out of range")
        }
        self.bins = bins
        self.sampleRate = sampleRate
        self.nFFT = nFFT
        self.hop = hop
        frequencyBins = nFFT / 2 + 1
        filterBank = MelFilterBank(mels: bins, frequencyBins: nFFT / 2 + 1, sampleRate: sampleRate,
                                   minHz: 0, maxHz: Double(sampleRate) / 2)
        basis = try makeFloatBuffer(count: 2 * frequencyBins * nFFT)
        Self.fillBasis(basis.floats(), nFFT: nFFT)
    }

    /// Periodic Hann window folded into the DFT basis. The angle uses `(k * n) mod N` so it stays
    /// exact for every k, n.
    static func fillBasis(_ basis: UnsafeMutablePointer<Float>, nFFT: Int) {
        let f = nFFT / 2 + 1
        for n in 0..<nFFT {
            let w = 0.5 - 0.5 * cos(2 * Double.pi * Double(n) / Double(nFFT))
            for k in 0..<f {
                let angle = 2 * Double.pi * Double((k * n) % nFFT) / Double(nFFT)
                basis[k * nFFT + n] = Float(w * cos(angle))
                basis[(f + k) * nFFT + n] = Float(w * sin(angle))
            }
        }
    }

    /// Number of frames for `count` samples: `floor(count / hop)`.
    public func frameCount(samples count: Int) -> Int { count / hop }

    /// Computes `[bins, frames]` log-mel features of 16 kHz mono samples.
    ///
    /// Requires at least `hop` samples (one frame); zero-length input is `emptyAudio`, and a
    /// NaN/Inf sample is `invalidSample`. Signals
    /// shorter than the reflect padding (`nFFT / 2 + 1` samples) are padded with numpy's
    /// repeated reflection, which is what `np.pad(mode: "reflect")` does (torch would refuse).
    public func compute(_ samples: UnsafeBufferPointer<Float>, name: String = "audio") throws(AudioError) -> LogMel {
        let frames = try checkedFrames(samples, name: name)
        let out = try makeFloatBuffer(count: bins * frames)                    // [bins, frames]
        let scratch = try makeFloatBuffer(count: scratchFloats)
        defer { scratch.close() }
        fill(samples, frames: frames, into: out.floats(), scratch: scratch.floats())
        return LogMel(storage: out, bins: bins, frames: frames)
    }

    /// Floats of scratch `compute(_:into:scratch:)` needs, independent of the clip's length.
    public var scratchFloats: Int { Self.blockFrames * (2 * frequencyBins + nFFT) }

    /// Computes features into caller-owned memory (a session's reused arena): `out` holds
    /// `bins * frameCount(samples:)` floats `[bins, frames]`, `scratch` holds `scratchFloats`.
    /// Returns the frame count.
    @discardableResult
    public func compute(_ samples: UnsafeBufferPointer<Float>, name: String = "audio", into out: UnsafeMutablePointer<Float>,
                        scratch: UnsafeMutablePointer<Float>) throws(AudioError) -> Int {
        let frames = try checkedFrames(samples, name: name)
        fill(samples, frames: frames, into: out, scratch: scratch)
        return frames
    }

    private func checkedFrames(_ samples: UnsafeBufferPointer<Float>, name: String) throws(AudioError) -> Int {
        let n = samples.count
        guard n > 0, let x = samples.baseAddress else { throw .emptyAudio(name: name) }
        let frames = frameCount(samples: n)
        guard frames > 0 else { throw .tooShort(name: name, samples: n, minimum: hop) }
        for i in 0..<n where !x[i].isFinite {   // NaN would silently poison the global max
            throw .invalidSample(name: name, index: i, value: x[i].isNaN ? "NaN" : (x[i] > 0 ? "+Inf" : "-Inf"))
        }
        return frames
    }

    private func fill(_ samples: UnsafeBufferPointer<Float>, frames: Int, into out: UnsafeMutablePointer<Float>,
                      scratch: UnsafeMutablePointer<Float>) {
        let x = samples.baseAddress!, n = samples.count
        let block = Self.blockFrames
        let spectrum = scratch                          // [B, 2 * F]
        let frameMatrix = scratch + block * 2 * frequencyBins   // [B, nFFT]
        withExtendedLifetime(basis) {
            var t0 = 0
            while t0 < frames {
                let count = min(block, frames - t0)
                fillFrames(x, n, firstFrame: t0, count: count, into: frameMatrix)
                Kernels.gemm(transB: true, m: count, n: 2 * frequencyBins, k: nFFT,
                             a: frameMatrix, lda: nFFT, b: basis.floats(), ldb: nFFT,
                             c: spectrum, ldc: 2 * frequencyBins)
                projectToMel(spectrum, frames: count, into: out + t0, stride: frames)
                t0 += count
            }
        }
        Self.logCompress(out, count: bins * frames)
    }

    /// `compute` over owned samples (checks the rate).
    public func compute(_ samples: AudioSamples, name: String = "audio") throws(AudioError) -> LogMel {
        guard samples.sampleRate == sampleRate else {
            throw .invalidParameter("\(name) is at \(samples.sampleRate) Hz, the mel front end needs \(sampleRate) Hz")
        }
        defer { withExtendedLifetime(samples.storage) {} }
        return try compute(UnsafeBufferPointer(start: samples.storage.floats(), count: samples.count), name: name)
    }

    /// Copies frames `t0 ..< t0 + count` into `[count, nFFT]`. Frame t covers samples
    /// `hop*t - nFFT/2 ..< hop*t + nFFT/2`; indices outside the signal are reflected like numpy
    /// `pad(mode: "reflect")` (edge sample not repeated; repeated reflection for short signals).
    func fillFrames(_ x: UnsafePointer<Float>, _ n: Int, firstFrame t0: Int, count: Int,
                    into dst: UnsafeMutablePointer<Float>) {
        let period = 2 * (n - 1)
        for f in 0..<count {
            let start = hop * (t0 + f) - nFFT / 2
            let row = dst + f * nFFT
            if start >= 0 && start + nFFT <= n {      // interior frame: a plain copy
                row.update(from: x + start, count: nFFT)
                continue
            }
            for i in 0..<nFFT {
                var s = start + i
                if s < 0 || s >= n {
                    if period == 0 { s = 0 } else {
                        s %= period
                        if s < 0 { s += period }
                        if s >= n { s = period - s }
                    }
                }
                row[i] = x[s]
            }
        }
    }

    /// Power `re² + im²` per bin, then the sparse mel projection; writes column `f` of the
    /// `[bins, stride]` output for each of the block's frames.
    func projectToMel(_ spectrum: UnsafePointer<Float>, frames count: Int,
                      into out: UnsafeMutablePointer<Float>, stride: Int) {
        let F = frequencyBins
        withUnsafeTemporaryAllocation(of: Float.self, capacity: F) { power in
            for f in 0..<count {
                let row = spectrum + f * 2 * F
                for k in 0..<F { power[k] = row[k] * row[k] + row[F + k] * row[F + k] }
                for (m, filter) in filterBank.filters.enumerated() {
                    var sum: Float = 0
                    for (i, w) in filter.weights.enumerated() { sum += w * power[filter.start + i] }
                    out[m * stride + f] = sum
                }
            }
        }
    }

    /// In place: `log10(max(x, 1e-10))`, clamp at (max - 8), `(x + 4) / 4`. The max is global
    /// over the clip (as `WhisperFeatureExtractor` does).
    static func logCompress(_ v: UnsafeMutablePointer<Float>, count: Int) {
        var top = -Float.infinity
        for i in 0..<count {
            let l = log10(max(v[i], 1e-10))
            v[i] = l
            top = max(top, l)
        }
        let floor = top - 8
        for i in 0..<count { v[i] = (max(v[i], floor) + 4) / 4 }
    }
}
