extension Kernels {
    /// Rows of work (rows * cols elements) below which matvec stays on the calling thread.
    static let matvecParallelThreshold = 1 << 18

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func loadBF16x8(_ p: UnsafePointer<UInt16>) -> SIMD8<Float> {
        SIMD8<Float>(
            Float(bitPattern: UInt32(p[0]) &<< 16), Float(bitPattern: UInt32(p[1]) &<< 16),
            Float(bitPattern: UInt32(p[2]) &<< 16), Float(bitPattern: UInt32(p[3]) &<< 16),
            Float(bitPattern: UInt32(p[4]) &<< 16), Float(bitPattern: UInt32(p[5]) &<< 16),
            Float(bitPattern: UInt32(p[6]) &<< 16), Float(bitPattern: UInt32(p[7]) &<< 16))
    }

    @inline(__always)
    static func bf16(_ v: UInt16) -> Float { Float(bitPattern: UInt32(v) &<< 16) }

    /// y[r] = W[r, :] · x (+ bias[r]) for r in `range`; W f32.
    static func matvecRowsF32(_ w: UnsafePointer<Float>, cols: Int, x: UnsafePointer<Float>,
                              bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, range: Range<Int>) {
        var r = range.lowerBound
        let end = range.upperBound
        let vecEnd = cols & ~7
        while r + 4 <= end {
            let w0 = w + r * cols, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var j = 0
            while j < vecEnd {
                let xv = load8(x + j)
                a0 += load8(w0 + j) * xv
                a1 += load8(w1 + j) * xv
                a2 += load8(w2 + j) * xv
                a3 += load8(w3 + j) * xv
                j += 8
            }
            var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
            while j < cols {
                let xj = x[j]
                s0 += w0[j] * xj; s1 += w1[j] * xj; s2 += w2[j] * xj; s3 += w3[j] * xj
                j += 1
            }
            if let bias {
                s0 += bias[r]; s1 += bias[r + 1]; s2 += bias[r + 2]; s3 += bias[r + 3]
            }
            y[r] = s0; y[r + 1] = s1; y[r + 2] = s2; y[r + 3] = s3
            r += 4
        }
        while r < end {
            let w0 = w + r * cols
            var a0 = SIMD8<Float>()
            var j = 0
            while j < vecEnd {
                a0 += load8(w0 + j) * load8(x + j)
                j += 8
            }
            var s0 = a0.sum()
            while j < cols {
                s0 += w0[j] * x[j]
                j += 1
            }
            if let bias { s0 += bias[r] }
            y[r] = s0
            r += 1
        }
    }

    /// y[r] = W[r, :] · x (+ bias[r]) for r in `range`; W bf16.
    static func matvecRowsBF16(_ w: UnsafePointer<UInt16>, cols: Int, x: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, range: Range<Int>) {
        var r = range.lowerBound
        let end = range.upperBound
        let vecEnd = cols & ~7
        while r + 4 <= end {
            let w0 = w + r * cols, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var j = 0
            while j < vecEnd {
                let xv = load8(x + j)
                a0 += loadBF16x8(w0 + j) * xv
                a1 += loadBF16x8(w1 + j) * xv
                a2 += loadBF16x8(w2 + j) * xv
                a3 += loadBF16x8(w3 + j) * xv
                j += 8
            }
            var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
            while j < cols {
                let xj = x[j]
                s0 += bf16(w0[j]) * xj; s1 += bf16(w1[j]) * xj; s2 += bf16(w2[j]) * xj; s3 += bf16(w3[j]) * xj
                j += 1
            }
            if let bias {
                s0 += bias[r]; s1 += bias[r + 1]; s2 += bias[r + 2]; s3 += bias[r + 3]
            }
            y[r] = s0; y[r + 1] = s1; y[r + 2] = s2; y[r + 3] = s3
            r += 4
        }
        while r < end {
            let w0 = w + r * cols
            var a0 = SIMD8<Float>()
            var j = 0
            while j < vecEnd {
                a0 += loadBF16x8(w0 + j) * load8(x + j)
                j += 8
            }
            var s0 = a0.sum()
            while j < cols {
                s0 += bf16(w0[j]) * x[j]
                j += 1
            }
            if let bias { s0 += bias[r] }
            y[r] = s0
            r += 1
        }
    }

    /// y[rows] = W[rows, cols] · x[cols] (+ bias[rows]). Multithreaded over rows for large W.
    public static func matvec(_ w: UnsafePointer<Float>, rows: Int, cols: Int, x: UnsafePointer<Float>,
                              bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        if rows <= 0 { return }
        let parts = threadsFor(work: rows * max(cols, 1), minimumPerThread: matvecParallelThreshold / 2)
        if parts <= 1 || rows < 8 {
            matvecRowsF32(w, cols: cols, x: x, bias: bias, y: y, range: 0..<rows)
            return
        }
        parallelFor(parts) { p in
            matvecRowsF32(w, cols: cols, x: x, bias: bias, y: y, range: split(rows, parts: parts, index: p, align: 4))
        }
    }

    /// y[rows] = W[rows, cols] · x[cols] (+ bias[rows]) with W in bfloat16. Multithreaded over rows for large W.
    public static func matvecBF16(_ w: UnsafePointer<UInt16>, rows: Int, cols: Int, x: UnsafePointer<Float>,
                                  bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        if rows <= 0 { return }
        let parts = threadsFor(work: rows * max(cols, 1), minimumPerThread: matvecParallelThreshold / 2)
        if parts <= 1 || rows < 8 {
            matvecRowsBF16(w, cols: cols, x: x, bias: bias, y: y, range: 0..<rows)
            return
        }
        parallelFor(parts) { p in
            matvecRowsBF16(w, cols: cols, x: x, bias: bias, y: y, range: split(rows, parts: parts, index: p, align: 4))
        }
    }

    /// Fills each of `rows` rows of y (width `cols`) with `bias`, or zeros when bias is nil.
    @inline(__always)
    static func broadcastRows(_ bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let row = y + r * cols
            if let bias {
                row.update(from: bias, count: cols)
            } else {
                row.update(repeating: 0, count: cols)
            }
        }
    }

    /// y[rows, out] = x[rows, in] · W^T (+ bias), W in PyTorch layout [out, in].
    public static func linear(_ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: UnsafePointer<Float>,
                              outFeatures: Int, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        if rows <= 0 || outFeatures <= 0 { return }
        if rows == 1 {
            matvec(weight, rows: outFeatures, cols: inFeatures, x: x, bias: bias, y: y)
            return
        }
        broadcastRows(bias, y: y, rows: rows, cols: outFeatures)
        gemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures,
             b: weight, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: y, ldc: outFeatures)
    }

    /// Same as `linear` with a bfloat16 weight [out, in]. For rows == 1 this is `matvecBF16`;
    /// otherwise the weight is converted to f32 in `scratch` (capacity >= out * in floats) and multiplied with sgemm.
    public static func linearBF16(_ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: UnsafePointer<UInt16>,
                                  outFeatures: Int, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                  scratch: UnsafeMutablePointer<Float>) {
        if rows <= 0 || outFeatures <= 0 { return }
        if rows == 1 {
            matvecBF16(weight, rows: outFeatures, cols: inFeatures, x: x, bias: bias, y: y)
            return
        }
        let total = outFeatures * inFeatures
        let parts = threadsFor(work: total, minimumPerThread: 1 << 17)
        parallelFor(parts) { p in
            let range = split(total, parts: parts, index: p, align: 64)
            bf16ToF32(weight + range.lowerBound, scratch + range.lowerBound, count: range.count)
        }
        broadcastRows(bias, y: y, rows: rows, cols: outFeatures)
        gemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures,
             b: scratch, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: y, ldc: outFeatures)
    }
}
