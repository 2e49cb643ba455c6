import EarshotTensor

/// Band-limited sample-rate conversion (polyphase Kaiser-windowed sinc, see `ResamplerFilter`).
///
/// Output sample `j` sits at input position `x = j * inRate / outRate` (exact rational
/// arithmetic: integer part and phase come from `j * M` divided by `L`), and is the dot product of
/// the phase's taps with the input samples `floor(x) - K + 1 ... floor(x) + K`; samples outside
/// the signal are zero. Output length is `ceil(count * outRate / inRate)` like librosa.
public enum Resampler {
    /// Resamples `samples` to `rate` Hz. Same rate returns the input unchanged (shared storage).
    public static func resample(_ samples: AudioSamples, to rate: Int) throws(AudioError) -> AudioSamples {
        let inRate = samples.sampleRate
        guard rate >= 1, rate <= WAVHeaderParser.maxSampleRate else {
            throw .invalidParameter("target sample rate \(rate) Hz is out of range 1...\(WAVHeaderParser.maxSampleRate)")
        }
        guard inRate >= 1, inRate <= WAVHeaderParser.maxSampleRate else {
            throw .invalidParameter("input sample rate \(inRate) Hz is out of range 1...\(WAVHeaderParser.maxSampleRate)")
        }
        if inRate == rate { return samples }
        guard samples.count > 0 else { throw .emptyAudio(name: "resampler input") }

        let filter = try ResamplerFilter(inputRate: inRate, outputRate: rate)
        let L = filter.upFactor, M = filter.downFactor
        let (scaled, overflow) = samples.count.multipliedReportingOverflow(by: L)
        guard !overflow else { throw .invalidParameter("\(samples.count) samples is too long to resample") }
        let outCount = (scaled + M - 1) / M
        let out = try makeFloatBuffer(count: outCount)
        samples.withUnsafeSamples { src in
            withExtendedLifetime(filter.table) {
                run(filter, src, out.floats(), outCount)
            }
        }
        return AudioSamples(storage: out, count: outCount, sampleRate: rate)
    }

    private static func run(_ f: ResamplerFilter, _ src: UnsafeBufferPointer<Float>,
                            _ dst: UnsafeMutablePointer<Float>, _ outCount: Int) {
        let L = f.upFactor, M = f.downFactor, K = f.halfTaps, taps = f.taps
        let table = UnsafePointer(f.table.floats())
        let n = src.count
        let x = src.baseAddress!
        // Zero-extended copy of the input around positions near the edges (small, heap).
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: taps)
        defer { scratch.deallocate() }
        for j in 0..<outCount {
            let num = j * M
            let remainder = num % L
            let base = num / L - K + 1
            let window: UnsafePointer<Float>
            if base < 0 || base + taps > n {
                for t in 0..<taps {
                    let i = base + t
                    scratch[t] = i >= 0 && i < n ? x[i] : 0
                }
                window = UnsafePointer(scratch)
            } else {
                window = x + base
            }
            if f.exact {
                dst[j] = dot(table + remainder * taps, window, taps)
            } else {
                let pos = Double(remainder) * Double(f.phases) / Double(L)
                let row = min(Int(pos), f.phases - 1)
                let w = Float(pos - Double(row))
                let a = dot(table + row * taps, window, taps)
                let b = dot(table + (row + 1) * taps, window, taps)
                dst[j] = a + w * (b - a)
            }
        }
    }

    /// Dot product of two float vectors; `count` is a multiple of 8.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= count {
            acc0 += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            acc1 += ra.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self)
            i += 16
        }
        if i < count {
            acc0 += ra.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        }
        return (acc0 + acc1).sum()
    }
}
