import Foundation

extension Kernels {
    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// Sum of x[0..<n].
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            a0 += load8(x + i)
            a1 += load8(x + i + 8)
            i += 16
        }
        var s = (a0 + a1).sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// Sum of (x[i] - c)^2.
    @inline(__always)
    static func sumSquares(_ x: UnsafePointer<Float>, _ n: Int, center c: Float) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        let cv = SIMD8<Float>(repeating: c)
        var i = 0
        while i + 16 <= n {
            let d0 = load8(x + i) - cv, d1 = load8(x + i + 8) - cv
            a0 += d0 * d0
            a1 += d1 * d1
            i += 16
        }
        var s = (a0 + a1).sum()
        while i < n { let d = x[i] - c; s += d * d; i += 1 }
        return s
    }

    /// Dot product of a[0..<n] and b[0..<n].
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            a0 += load8(a + i) * load8(b + i)
            a1 += load8(a + i + 8) * load8(b + i + 8)
            i += 16
        }
        if i + 8 <= n {
            a0 += load8(a + i) * load8(b + i)
            i += 8
        }
        var s = (a0 + a1).sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// In place over rows of width `cols`: x = (x - mean) / sqrt(var + eps) * weight + bias (biased variance).
    public static func layerNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                                 weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float) {
        if cols <= 0 { return }
        for r in 0..<rows {
            let row = x + r * cols
            let mean = sum(row, cols) / Float(cols)
            let variance = sumSquares(row, cols, center: mean) / Float(cols)
            let inv = 1 / (variance + eps).squareRoot()
            for i in 0..<cols {
                row[i] = (row[i] - mean) * inv * weight[i] + bias[i]
            }
        }
    }

    /// In place over rows: x = weight * x / sqrt(mean(x^2) + eps).
    public static func rmsNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                               weight: UnsafePointer<Float>, eps: Float) {
        rmsNorm(UnsafePointer(x), into: x, rows: rows, cols: cols, weight: weight, eps: eps)
    }

    /// y = weight * x / sqrt(mean(x^2) + eps) over rows of width `cols`; y may equal x.
    public static func rmsNorm(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                               weight: UnsafePointer<Float>, eps: Float) {
        if cols <= 0 { return }
        for r in 0..<rows {
            let src = x + r * cols
            let dst = y + r * cols
            let meanSquare = sumSquares(src, cols, center: 0) / Float(cols)
            let inv = 1 / (meanSquare + eps).squareRoot()
            for i in 0..<cols {
                dst[i] = src[i] * inv * weight[i]
            }
        }
    }

    /// In place softmax over x[0..<count], max-subtracted. If every entry is -infinity the result is uniform.
    ///
    /// Debug builds use libm's exp instead of the SIMD polynomial: unoptimised SIMD code is ~100x
    /// slower (Whisper's encoder alone takes 54M exps per window), and the test suite runs in debug.
    /// The kernel tests call `softmaxVectorized` directly, so the shipped path stays tested.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        #if DEBUG
        softmaxScalar(x, count: count)
        #else
        softmaxVectorized(x, count: count)
        #endif
    }

    static func softmaxScalar(_ x: UnsafeMutablePointer<Float>, count: Int) {
        if count <= 0 { return }
        var m = -Float.infinity
        for i in 0..<count where x[i] > m { m = x[i] }
        if m == -Float.infinity {
            for i in 0..<count { x[i] = 1 / Float(count) }
            return
        }
        var s: Float = 0
        for i in 0..<count {
            let e = Foundation.exp(x[i] - m)
            x[i] = e
            s += e
        }
        let inv = 1 / s
        for i in 0..<count { x[i] *= inv }
    }

    static func softmaxVectorized(_ x: UnsafeMutablePointer<Float>, count: Int) {
        if count <= 0 { return }
        var mv = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i + 8 <= count {
            let v = load8(x + i)
            mv.replace(with: v, where: v .> mv)
            i += 8
        }
        var m = -Float.infinity
        for j in 0..<8 where mv[j] > m { m = mv[j] }
        while i < count {
            if x[i] > m { m = x[i] }
            i += 1
        }
        if m == -Float.infinity {
            let u = 1 / Float(count)
            for j in 0..<count { x[j] = u }
            return
        }
        let shift = SIMD8<Float>(repeating: m)
        var sv = SIMD8<Float>()
        i = 0
        while i + 8 <= count {
            let e = expV(load8(x + i) - shift)
            store8(e, x + i)
            sv += e
            i += 8
        }
        var s = sv.sum()
        if i < count {
            var v = SIMD8<Float>(repeating: -.infinity)
            for j in 0..<(count - i) { v[j] = x[i + j] - m }
            let e = expV(v)
            for j in 0..<(count - i) {
                x[i + j] = e[j]
                s += e[j]
            }
        }
        let inv = 1 / s
        for j in 0..<count { x[j] *= inv }
    }

    /// Exact GELU in place: 0.5 * x * (1 + erf(x / sqrt(2))), evaluated as 0.5 * x * erfc(-x / sqrt(2))
    /// so that large negative x keeps full relative accuracy (vectorized erfc, ~1e-6 relative).
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        // Large activations (the conv stem's, ~1.5M per chunk) are split across the kernel threads.
        let parts = threadsFor(work: count, minimumPerThread: 1 << 16)
        if parts > 1 {
            parallelFor(parts) { p in
                let r = split(count, parts: parts, index: p, align: 8)
                geluRange(x + r.lowerBound, count: r.count)
            }
            return
        }
        geluRange(x, count: count)
    }

    /// libm in debug builds (see `softmax`); the SIMD erfc in release. Tests call `geluVectorized`.
    static func geluRange(_ x: UnsafeMutablePointer<Float>, count: Int) {
        #if DEBUG
        for i in 0..<count { x[i] = 0.5 * x[i] * Foundation.erfc(x[i] * -0.707_106_781_186_547_524_40) }
        #else
        geluVectorized(x, count: count)
        #endif
    }

    static func geluVectorized(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            store8(geluV(load8(x + i)), x + i)
            i += 8
        }
        if i < count {
            var v = SIMD8<Float>()
            for j in 0..<(count - i) { v[j] = x[i + j] }
            let r = geluV(v)
            for j in 0..<(count - i) { x[i + j] = r[j] }
        }
    }

    @inline(__always)
    static func geluV(_ v: SIMD8<Float>) -> SIMD8<Float> {
        0.5 * v * erfcV(v * -0.707_106_781_186_547_524_40)
    }

    @inline(__always)
    static func siluV(_ v: SIMD8<Float>) -> SIMD8<Float> {
        v / (1 + expV(-v))
    }

    /// SiLU in place: x * sigmoid(x).
    public static func silu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            store8(siluV(load8(x + i)), x + i)
            i += 8
        }
        while i < count {
            let v = x[i]
            x[i] = v / (1 + Foundation.exp(-v))
            i += 1
        }
    }

    /// out[i] = silu(gate[i]) * up[i]. `out` may equal `gate` or `up`.
    public static func swiglu(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                              count: Int) {
        var i = 0
        while i + 8 <= count {
            store8(siluV(load8(gate + i)) * load8(up + i), out + i)
            i += 8
        }
        while i < count {
            let g = gate[i]
            out[i] = g / (1 + Foundation.exp(-g)) * up[i]
            i += 1
        }
    }

    /// x += y.
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            store8(load8(x + i) + load8(y + i), x + i)
            i += 8
        }
        while i < count { x[i] += y[i]; i += 1 }
    }
}
