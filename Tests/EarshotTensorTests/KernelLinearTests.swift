import Testing
import EarshotTensor
import EarshotTestSupport

/// Naive y = W x + b in Double.
func referenceMatvec(_ w: [Float], rows: Int, cols: Int, _ x: [Float], _ bias: [Float]?) -> [Double] {
    (0..<rows).map { r in
        var s = bias.map { Double($0[r]) } ?? 0
        for c in 0..<cols { s += Double(w[r * cols + c]) * Double(x[c]) }
        return s
    }
}

@Suite struct KernelLinearTests {
    static let shapes: [(Int, Int)] = [(1, 1), (1, 7), (7, 1), (7, 33), (33, 7), (129, 65), (5, 1000), (3, 16), (1031, 515)]

    @Test(arguments: [false, true])
    func matvecF32(withBias: Bool) {
        var r = SeededRandom(seed: 21)
        for (rows, cols) in Self.shapes {
            let w = r.floats(rows * cols), x = r.floats(cols), b = r.floats(rows)
            let wb = Buffer(w), xb = Buffer(x), bb = Buffer(b), y = Buffer<Float>(repeating: .nan, count: rows)
            Kernels.matvec(wb.p, rows: rows, cols: cols, x: xb.p, bias: withBias ? UnsafePointer(bb.p) : nil, y: y.p)
            let want = referenceMatvec(w, rows: rows, cols: cols, x, withBias ? b : nil)
            expectClose(y.array, want, tol: 2e-5, scale: Double(cols).squareRoot() * 0.1, "matvec \(rows)x\(cols)")
        }
    }

    @Test(arguments: [false, true])
    func matvecBF16(withBias: Bool) {
        var r = SeededRandom(seed: 22)
        for (rows, cols) in Self.shapes + [(4097, 300)] {
            let bits = bf16Bits(r.floats(rows * cols))
            let w = bits.map(bf16Value), x = r.floats(cols), b = r.floats(rows)
            let wb = Buffer(bits), xb = Buffer(x), bb = Buffer(b), y = Buffer<Float>(repeating: .nan, count: rows)
            Kernels.matvecBF16(wb.p, rows: rows, cols: cols, x: xb.p, bias: withBias ? UnsafePointer(bb.p) : nil, y: y.p)
            let want = referenceMatvec(w, rows: rows, cols: cols, x, withBias ? b : nil)
            expectClose(y.array, want, tol: 2e-5, scale: Double(cols).squareRoot() * 0.1, "matvecBF16 \(rows)x\(cols)")
        }
    }

    @Test func matvecSingleThreadMatchesThreaded() {
        var r = SeededRandom(seed: 23)
        let rows = 2051, cols = 300
        let bits = bf16Bits(r.floats(rows * cols))
        let wb = Buffer(bits), xb = Buffer(r.floats(cols))
        let y1 = Buffer<Float>(repeating: 0, count: rows), y2 = Buffer<Float>(repeating: 0, count: rows)
        let original = Kernels.threadCount
        Kernels.setThreadCount(1)
        Kernels.matvecBF16(wb.p, rows: rows, cols: cols, x: xb.p, bias: nil, y: y1.p)
        // Only ever lower the count below the default here: tests run in parallel, and attention tests size
        // their scratch from the current count.
        Kernels.setThreadCount(original)
        Kernels.matvecBF16(wb.p, rows: rows, cols: cols, x: xb.p, bias: nil, y: y2.p)
        Kernels.setThreadCount(original)
        #expect(y1.array == y2.array)
    }

    @Test(arguments: [1, 2, 3, 17])
    func linearBothDTypes(rows: Int) {
        var r = SeededRandom(seed: 24 + UInt64(rows))
        // (256, 40) and (1088, 68) take the AVX2 panel kernel (K in whole blocks; 1088 = two 512-column chunks + 64).
        for (inF, outF) in [(1, 1), (7, 33), (65, 129), (256, 40), (1088, 68)] {
            let x = r.floats(rows * inF)
            let bits = bf16Bits(r.floats(outF * inF))
            let w = bits.map(bf16Value)
            let b = r.floats(outF)
            var want: [Double] = []
            for i in 0..<rows {
                want += referenceMatvec(w, rows: outF, cols: inF, Array(x[i * inF..<(i + 1) * inF]), b)
            }
            var wantNoBias: [Double] = []
            for i in 0..<rows {
                wantNoBias += referenceMatvec(w, rows: outF, cols: inF, Array(x[i * inF..<(i + 1) * inF]), nil)
            }
            let xb = Buffer(x), wb = Buffer(w), bitsb = Buffer(bits), bb = Buffer(b)
            let y = Buffer<Float>(repeating: .nan, count: rows * outF)
            let scratch = Buffer<Float>(repeating: 0, count: outF * inF)
            let s = Double(inF).squareRoot() * 0.1
            Kernels.linear(xb.p, rows: rows, inFeatures: inF, weight: wb.p, outFeatures: outF, bias: bb.p, y: y.p)
            expectClose(y.array, want, tol: 2e-5, scale: s, "linear \(rows) \(inF)->\(outF)")
            Kernels.linear(xb.p, rows: rows, inFeatures: inF, weight: wb.p, outFeatures: outF, bias: nil, y: y.p)
            expectClose(y.array, wantNoBias, tol: 2e-5, scale: s, "linear nobias \(rows) \(inF)->\(outF)")
            Kernels.linearBF16(xb.p, rows: rows, inFeatures: inF, weight: bitsb.p, outFeatures: outF, bias: bb.p,
                               y: y.p, scratch: scratch.p)
            expectClose(y.array, want, tol: 2e-5, scale: s, "linearBF16 \(rows) \(inF)->\(outF)")
            Kernels.linearBF16(xb.p, rows: rows, inFeatures: inF, weight: bitsb.p, outFeatures: outF, bias: nil,
                               y: y.p, scratch: scratch.p)
            expectClose(y.array, wantNoBias, tol: 2e-5, scale: s, "linearBF16 nobias \(rows) \(inF)->\(outF)")
        }
    }

    /// A few rows (Whisper's beams, batched decode) take the one-stream kernel (`ek_gemm_few_rows`)
    /// up to `fewRowsMax`, sgemm above: outputs not a multiple of 4 or 16, columns a multiple
    /// of 8 but not 32, more rows than one pass of 8.
    @Test(arguments: [2, 5, 8, 9, 16, Kernels.fewRowsMax, Kernels.fewRowsMax + 1])
    func linearF32FewRows(rows: Int) {
        var r = SeededRandom(seed: 40 + UInt64(rows))
        for (inF, outF) in [(512, 51), (200, 130), (64, 1), (1024, 33)] {
            let x = r.floats(rows * inF), w = r.floats(outF * inF), b = r.floats(outF)
            var want: [Double] = []
            for i in 0..<rows { want += referenceMatvec(w, rows: outF, cols: inF, Array(x[i * inF..<(i + 1) * inF]), b) }
            let xb = Buffer(x), wb = Buffer(w), bb = Buffer(b)
            let y = Buffer<Float>(repeating: .nan, count: rows * outF)
            Kernels.linear(xb.p, rows: rows, inFeatures: inF, weight: wb.p, outFeatures: outF, bias: bb.p, y: y.p)
            expectClose(y.array, want, tol: 2e-5, scale: Double(inF).squareRoot() * 0.1, "linear \(rows) \(inF)->\(outF)")
        }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmTransposesAndStrides(transA: Bool, transB: Bool) {
        var r = SeededRandom(seed: 30)
        for (m, n, k) in [(1, 1, 1), (7, 33, 5), (33, 7, 129), (64, 48, 16)] {
            // Stored shapes: A is [m,k] or [k,m]; B is [k,n] or [n,k]; pad each row by 3.
            let aRows = transA ? k : m, aCols = transA ? m : k
            let bRows = transB ? n : k, bCols = transB ? k : n
            let lda = aCols + 3, ldb = bCols + 3, ldc = n + 3
            let a = r.floats(aRows * lda), b = r.floats(bRows * ldb), c0 = r.floats(m * ldc)
            let alpha: Float = 0.75, beta: Float = -0.5
            var want = c0.map(Double.init)
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0
                    for p in 0..<k {
                        let av = transA ? a[p * lda + i] : a[i * lda + p]
                        let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                        s += Double(av) * Double(bv)
                    }
                    want[i * ldc + j] = Double(alpha) * s + Double(beta) * Double(c0[i * ldc + j])
                }
            }
            let ab = Buffer(a), bb = Buffer(b), cb = Buffer(c0)
            Kernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: ab.p, lda: lda,
                         b: bb.p, ldb: ldb, beta: beta, c: cb.p, ldc: ldc)
            expectClose(cb.array, want, tol: 2e-5, scale: Double(k).squareRoot() * 0.1, "gemm \(m)x\(n)x\(k)")
        }
    }
}
