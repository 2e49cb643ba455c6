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
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
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

    /// In place softmax over x[0..<count], max-subtracted.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        if count <= 0 { return }
        var m = -Float.infinity
        for i in 0..<count where x[i] > m { m = x[i] }
        if m == -Float.infinity {
            // All masked: define as uniform to avoid NaN.
            let u = 1 / Float(count)
            for i in 0..<count { x[i] = u }
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

    /// Exact GELU in place: 0.5 * x * (1 + erf(x / sqrt(2))), evaluated as 0.5 * x * erfc(-x / sqrt(2))
    /// so that large negative x keeps full relative accuracy.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let r: Float = 0.70710678118654752440
        for i in 0..<count {
            let v = x[i]
            x[i] = 0.5 * v * Foundation.erfc(-v * r)
        }
    }

    @inline(__always)
    static func siluScalar(_ v: Float) -> Float {
        v / (1 + Foundation.exp(-v))
    }

    /// SiLU in place: x * sigmoid(x).
    public static func silu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = siluScalar(x[i]) }
    }

    /// out[i] = silu(gate[i]) * up[i]. `out` may equal `gate` or `up`.
    public static func swiglu(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                              count: Int) {
        for i in 0..<count { out[i] = siluScalar(gate[i]) * up[i] }
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
