import Foundation
import Testing
@testable import EarshotTensor
import EarshotTestSupport

@Suite struct KernelElementwiseTests {
    static let sizes = [1, 7, 33, 129, 1024, 1031]

    @Test func layerNormMatchesReference() {
        var r = SeededRandom(seed: 40)
        for cols in Self.sizes {
            let rows = 3
            // Offset inputs so the mean matters.
            let x = r.floats(rows * cols, scale: 2).map { $0 + 5 }
            let w = r.floats(cols), b = r.floats(cols)
            var want: [Double] = []
            for i in 0..<rows {
                let row = x[i * cols..<(i + 1) * cols].map(Double.init)
                let mean = row.reduce(0, +) / Double(cols)
                let v = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(cols)
                for j in 0..<cols { want.append((row[j] - mean) / (v + 1e-5).squareRoot() * Double(w[j]) + Double(b[j])) }
            }
            let xb = Buffer(x), wb = Buffer(w), bb = Buffer(b)
            Kernels.layerNorm(xb.p, rows: rows, cols: cols, weight: wb.p, bias: bb.p, eps: 1e-5)
            expectClose(xb.array, want, tol: 1e-5, scale: 0.1, "layerNorm \(cols)")
        }
    }

    @Test func rmsNormMatchesReference() {
        var r = SeededRandom(seed: 41)
        for cols in Self.sizes {
            let rows = 2
            let x = r.floats(rows * cols, scale: 3), w = r.floats(cols)
            var want: [Double] = []
            for i in 0..<rows {
                let row = x[i * cols..<(i + 1) * cols].map(Double.init)
                let ms = row.reduce(0) { $0 + $1 * $1 } / Double(cols)
                for j in 0..<cols { want.append(Double(w[j]) * row[j] / (ms + 1e-6).squareRoot()) }
            }
            let xb = Buffer(x), wb = Buffer(w), yb = Buffer<Float>(repeating: .nan, count: rows * cols)
            Kernels.rmsNorm(UnsafePointer(xb.p), into: yb.p, rows: rows, cols: cols, weight: wb.p, eps: 1e-6)
            expectClose(yb.array, want, tol: 1e-5, scale: 0.1, "rmsNorm out \(cols)")
            #expect(xb.array == x)
            Kernels.rmsNorm(xb.p, rows: rows, cols: cols, weight: wb.p, eps: 1e-6)
            expectClose(xb.array, want, tol: 1e-5, scale: 0.1, "rmsNorm in place \(cols)")
        }
    }

    /// Both implementations: the SIMD one (release builds) and the libm one (debug builds).
    static let softmaxes: [(String, @Sendable (UnsafeMutablePointer<Float>, Int) -> Void)] = [
        ("vectorized", { Kernels.softmaxVectorized($0, count: $1) }), ("scalar", { Kernels.softmaxScalar($0, count: $1) }),
    ]

    @Test(arguments: 0..<2) func softmaxMatchesReference(variant: Int) {
        let (name, softmax) = Self.softmaxes[variant]
        var r = SeededRandom(seed: 42)
        for n in Self.sizes + [3000] {
            let x = r.floats(n, scale: 20).map { $0 + 100 }
            let m = x.map(Double.init).max()!
            let e = x.map { Foundation.exp(Double($0) - m) }
            let s = e.reduce(0, +)
            let xb = Buffer(x)
            softmax(xb.p, n)
            expectClose(xb.array, e.map { $0 / s }, tol: 1e-5, scale: 1e-7, "softmax \(name) \(n)")
        }
        // Masked entries on the vector path (count >= 8) become exact zeros.
        var wide = r.floats(19)
        for i in stride(from: 0, to: 19, by: 3) { wide[i] = -.infinity }
        let wm = wide.map { $0 == -.infinity ? -Double.infinity : Double($0) }.max()!
        let we = wide.map { $0 == -.infinity ? 0 : Foundation.exp(Double($0) - wm) }
        let wb = Buffer(wide)
        softmax(wb.p, 19)
        expectClose(wb.array, we.map { $0 / we.reduce(0, +) }, tol: 1e-5, scale: 1e-7, "masked wide softmax")
        for i in stride(from: 0, to: 19, by: 3) { #expect(wb[i] == 0) }
        let masked = Buffer<Float>([-.infinity, 0, -.infinity, 1])
        softmax(masked.p, 4)
        #expect(masked[0] == 0 && masked[2] == 0)
        expectClose([masked[1], masked[3]], [1 / (1 + M_E), M_E / (1 + M_E)], tol: 1e-6, scale: 0, "masked softmax")
    }

    @Test func activationsMatchReference() {
        var r = SeededRandom(seed: 43)
        for n in Self.sizes {
            let x = r.floats(n, scale: 8) + (n == 1 ? [] : [0, -0.0, 30, -30, 90, -90].prefix(min(6, n - 1)))
            let count = x.count
            let g = Buffer(x)
            Kernels.gelu(g.p, count: count)
            let geluRef = x.map { v in let d = Double(v); return 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot())) }
            expectClose(g.array, geluRef, tol: 4e-6, scale: 1e-6, "gelu \(n)")
            let gv = Buffer(x)   // the SIMD path release builds run (debug builds' `gelu` uses libm)
            Kernels.geluVectorized(gv.p, count: count)
            expectClose(gv.array, geluRef, tol: 4e-6, scale: 1e-6, "gelu vectorized \(n)")
            let s = Buffer(x)
            Kernels.silu(s.p, count: count)
            let siluRef = x.map { v in Double(v) / (1 + Foundation.exp(-Double(v))) }
            expectClose(s.array, siluRef, tol: 1e-6, scale: 1e-6, "silu \(n)")
            let up = r.floats(count)
            let gb = Buffer(x), ub = Buffer(up), out = Buffer<Float>(repeating: .nan, count: count)
            Kernels.swiglu(gate: gb.p, up: ub.p, out: out.p, count: count)
            expectClose(out.array, zip(siluRef, up).map { $0 * Double($1) }, tol: 1e-6, scale: 1e-6, "swiglu \(n)")
            let a = Buffer(x)
            Kernels.add(a.p, ub.p, count: count)
            #expect(a.array == zip(x, up).map { $0 + $1 })
        }
    }

    @Test(arguments: [(1, 1, 2, 0), (3, 2, 8, 5), (7, 3, 64, 0), (5, 4, 128, 65531), (2, 1, 6, 65536)])
    func ropeMatchesReference(tokens: Int, heads: Int, headDim: Int, start: Int) {
        var r = SeededRandom(seed: 44)
        let theta = 1_000_000.0
        let x = r.floats(tokens * heads * headDim)
        var want = x.map(Double.init)
        let half = headDim / 2
        for t in 0..<tokens {
            for h in 0..<heads {
                let base = (t * heads + h) * headDim
                for i in 0..<half {
                    let angle = Double(start + t) * Foundation.pow(theta, -2 * Double(i) / Double(headDim))
                    let a = Double(x[base + i]), b = Double(x[base + i + half])
                    want[base + i] = a * Foundation.cos(angle) - b * Foundation.sin(angle)
                    want[base + i + half] = b * Foundation.cos(angle) + a * Foundation.sin(angle)
                }
            }
        }
        let xb = Buffer(x)
        Kernels.rope(xb.p, tokens: tokens, heads: heads, headDim: headDim, startPosition: start, theta: theta)
        expectClose(xb.array, want, tol: 1e-6, scale: 1, "rope \(tokens)x\(heads)x\(headDim)@\(start)")
    }
}
