import Foundation

extension Kernels {
    /// exp on 8 lanes, ~1-2 ulp over [-87, 88]; inputs below about -88 give 0, above 88.3 saturate near 2.2e38.
    /// Cephes-style: exp(x) = 2^n * exp(r), r = x - n ln2, |r| <= ln2/2, degree-6 polynomial for exp(r).
    @inline(__always)
    static func expV(_ input: SIMD8<Float>) -> SIMD8<Float> {
        var x = input.replacing(with: -88.0, where: input .< -88.0)
        x.replace(with: 88.3, where: x .> 88.3)
        let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5 * 2^23: adding it rounds to an integer
        let t = x * 1.442_695_04 + magic
        let n = t - magic
        var r = x - n * 0.693_359_375
        r = r - n * -2.121_944_40e-4
        var p = SIMD8<Float>(repeating: 1.987_569_150_0e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let e = p * (r * r) + r + 1
        // 2^n from the rounded integer sitting in t's low mantissa bits; n = -127 gives +0.
        let tb = unsafeBitCast(t, to: SIMD8<UInt32>.self)
        let scaleBits = (tb &+ (127 &- 0x4B40_0000)) &<< 23
        return e * unsafeBitCast(scaleBits, to: SIMD8<Float>.self)
    }

    /// erfc on 8 lanes from the Chebyshev-fitted form erfc(z) = t exp(-z^2 + P(t)), t = 1/(1 + |z|/2)
    /// (fractional error < 1.2e-7 in exact arithmetic), reflected for negative z: erfc(-z) = 2 - erfc(z).
    @inline(__always)
    static func erfcV(_ z: SIMD8<Float>) -> SIMD8<Float> {
        let a = z.replacing(with: -z, where: z .< 0)
        let t = 1 / (1 + 0.5 * a)
        var p = SIMD8<Float>(repeating: 0.170_872_77)
        p = p * t - 0.822_152_23
        p = p * t + 1.488_515_87
        p = p * t - 1.135_203_98
        p = p * t + 0.278_868_07
        p = p * t - 0.186_288_06
        p = p * t + 0.096_784_18
        p = p * t + 0.374_091_96
        p = p * t + 1.000_023_68
        p = p * t - 1.265_512_23
        let r = t * expV(p - a * a)
        return r.replacing(with: 2 - r, where: z .< 0)
    }
}

extension Kernels {
    /// log(Σ exp(x[i])), max-shifted (entries at -infinity contribute nothing). Used to turn a
    /// chosen logit into a log-probability without touching the logits.
    public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
        guard count > 0 else { return -.infinity }
        var m = -Float.infinity
        for i in 0..<count where x[i] > m { m = x[i] }
        guard m.isFinite else { return m }
        let shift = SIMD8<Float>(repeating: m)
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            acc += expV(load8(x + i) - shift)
            i += 8
        }
        var s = acc.sum()
        while i < count {
            s += Foundation.exp(x[i] - m)
            i += 1
        }
        return m + Foundation.log(s)
    }
}
