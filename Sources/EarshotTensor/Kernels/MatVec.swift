import CEarshotKernels

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

    // Row kernels walk one weight row at a time: a single sequential stream per thread measured
    // 2-3x faster on large matrices than interleaving 2 or 4 rows (which read several streams at once).

    /// y[r] = W[r, :] · x (+ bias[r]) for r in `range`; W f32.
    static func matvecRowsF32(_ w: UnsafePointer<Float>, cols: Int, x: UnsafePointer<Float>,
                              bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, range: Range<Int>) {
        let end32 = cols & ~31
        let end8 = cols & ~7
        for r in range {
            let row = w + r * cols
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var j = 0
            while j < end32 {
                a0 += load8(row + j) * load8(x + j)
                a1 += load8(row + j + 8) * load8(x + j + 8)
                a2 += load8(row + j + 16) * load8(x + j + 16)
                a3 += load8(row + j + 24) * load8(x + j + 24)
                j += 32
            }
            while j < end8 {
                a0 += load8(row + j) * load8(x + j)
                j += 8
            }
            var s = ((a0 + a1) + (a2 + a3)).sum()
            while j < cols {
                s += row[j] * x[j]
                j += 1
            }
            if let bias { s += bias[r] }
            y[r] = s
        }
    }

    /// y[r] = W[r, :] · x (+ bias[r]) for r in `range`; W bf16.
    static func matvecRowsBF16(_ w: UnsafePointer<UInt16>, cols: Int, x: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, range: Range<Int>) {
        let end32 = cols & ~31
        let end8 = cols & ~7
        for r in range {
            let row = w + r * cols
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var j = 0
            while j < end32 {
                a0 += loadBF16x8(row + j) * load8(x + j)
                a1 += loadBF16x8(row + j + 8) * load8(x + j + 8)
                a2 += loadBF16x8(row + j + 16) * load8(x + j + 16)
                a3 += loadBF16x8(row + j + 24) * load8(x + j + 24)
                j += 32
            }
            while j < end8 {
                a0 += loadBF16x8(row + j) * load8(x + j)
                j += 8
            }
            var s = ((a0 + a1) + (a2 + a3)).sum()
            while j < cols {
                s += bf16(row[j]) * x[j]
                j += 1
            }
            if let bias { s += bias[r] }
            y[r] = s
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
        parallelLoop(parts, RowsLoop(w: UnsafeRawPointer(w), bf16: false, rows: rows, cols: cols, x: x, bias: bias, y: y, parts: parts))
    }

    /// y[rows] = W[rows, cols] · x[cols] (+ bias[rows]) with W in bfloat16. Multithreaded over rows for large W.
    public static func matvecBF16(_ w: UnsafePointer<UInt16>, rows: Int, cols: Int, x: UnsafePointer<Float>,
                                  bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        if rows <= 0 { return }
        let parts = threadsFor(work: rows * max(cols, 1), minimumPerThread: matvecParallelThreshold / 2)
        if parts <= 1 || rows < 8 {
            bf16Rows(w, cols: cols, x: x, bias: bias, y: y, range: 0..<rows)
            return
        }
        parallelLoop(parts, RowsLoop(w: UnsafeRawPointer(w), bf16: true, rows: rows, cols: cols, x: x, bias: bias, y: y, parts: parts))
    }

    /// The AVX2 kernel when the CPU has it, else the portable one.
    @inline(__always)
    static func bf16Rows(_ w: UnsafePointer<UInt16>, cols: Int, x: UnsafePointer<Float>,
                         bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, range: Range<Int>) {
        #if arch(x86_64)
        if CPUFeatures.avx2 {
            if range.isEmpty { return }
            ek_bf16_matvec_rows(w, Int64(cols), x, y, Int64(range.lowerBound), Int64(range.upperBound))
            if let bias { for r in range { y[r] += bias[r] } }
            return
        }
        #endif
        matvecRowsBF16(w, cols: cols, x: x, bias: bias, y: y, range: range)
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
        if rows <= fewRowsMax,
           fewRowsGEMM(UnsafeRawPointer(weight), type: EK_WEIGHT_F32, x: x, rows: rows, inFeatures: inFeatures,
                       outFeatures: outFeatures, y: y) { return }
        gemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures,
             b: weight, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: y, ldc: outFeatures)
    }

    /// Up to this many rows of x, f32 and bf16 `linear` read each weight row once, in place, as one
    /// stream (`ek_gemm_few_rows`) instead of calling sgemm (which first packs all of W) or the
    /// panel kernel (4 rows side by side): a few rows (Whisper's beams, short prompts, batched
    /// decode) are bound by reading W. `earshot bench kernels --batch`, Zen 4, 2 threads, f32
    /// [4096, 512] matrices: 5 rows 9.8 ms against sgemm's 27.5; 16 rows 24.2 against 29.3; 32
    /// rows 54.3 against 40.9 (sgemm's packing pays from there).
    public static let fewRowsMax = 16

    /// Bytes of f32 weights per batch tile (bf16 and quantized matrices). Measured on the 0.6B
    /// prefill (119 tokens, 2 threads), dequantize + sgemm: 4 MB tiles 885-894 ms against
    /// 877-1,210 ms for whole matrices and 1,000-1,100 ms for 512 KB tiles (too many small calls).
    static let weightTileBytes = 1 << 22

    /// Scratch floats `linearBF16` and `linearQuantized` need for a `[rows, cols]` matrix: one tile.
    public static func weightTileScratchFloats(rows: Int, cols: Int) -> Int {
        weightTileRows(outFeatures: rows, inFeatures: cols) * cols
    }

    static func weightTileRows(outFeatures: Int, inFeatures: Int) -> Int {
        max(1, min(outFeatures, max(64, weightTileBytes / (max(inFeatures, 1) * 4) / 16 * 16)))
    }

    /// Same as `linear` with a bfloat16 weight [out, in]. For rows == 1 this is `matvecBF16`;
    /// otherwise the weight is converted to f32 tile by tile in `scratch` (`weightTileScratchFloats`
    /// floats; tiles sized like the quantized path's, so each stays in cache for its sgemm).
    public static func linearBF16(_ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: UnsafePointer<UInt16>,
                                  outFeatures: Int, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                  scratch: UnsafeMutablePointer<Float>) {
        if rows <= 0 || outFeatures <= 0 { return }
        if rows == 1 {
            matvecBF16(weight, rows: outFeatures, cols: inFeatures, x: x, bias: bias, y: y)
            return
        }
        broadcastRows(bias, y: y, rows: rows, cols: outFeatures)
        if rows <= fewRowsMax,
           fewRowsGEMM(UnsafeRawPointer(weight), type: EK_WEIGHT_BF16, x: x, rows: rows, inFeatures: inFeatures,
                       outFeatures: outFeatures, y: y) { return }
        if panelGEMM(UnsafeRawPointer(weight), type: EK_WEIGHT_BF16, x: x, rows: rows, inFeatures: inFeatures,
                     outFeatures: outFeatures, y: y) { return }
        let tileRows = weightTileRows(outFeatures: outFeatures, inFeatures: inFeatures)
        var r0 = 0
        while r0 < outFeatures {
            let n = min(tileRows, outFeatures - r0)
            let total = n * inFeatures
            let src = weight + r0 * inFeatures
            let parts = threadsFor(work: total, minimumPerThread: 1 << 15)
            parallelFor(parts) { p in
                let range = split(total, parts: parts, index: p, align: 64)
                bf16ToF32(src + range.lowerBound, scratch + range.lowerBound, count: range.count)
            }
            gemm(transB: true, m: rows, n: n, k: inFeatures, a: x, lda: inFeatures,
                 b: scratch, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: y + r0, ldc: outFeatures)
            r0 += n
        }
    }
}

/// One thread's share of an f32 or bf16 matrix-vector product.
struct RowsLoop: KernelLoop {
    let w: UnsafeRawPointer, bf16: Bool, rows: Int, cols: Int
    let x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, parts: Int
    func callAsFunction(_ p: Int) {
        let range = Kernels.split(rows, parts: parts, index: p, align: 1)
        if bf16 {
            Kernels.bf16Rows(w.assumingMemoryBound(to: UInt16.self), cols: cols, x: x, bias: bias, y: y, range: range)
        } else {
            Kernels.matvecRowsF32(w.assumingMemoryBound(to: Float.self), cols: cols, x: x, bias: bias, y: y, range: range)
        }
    }
}
