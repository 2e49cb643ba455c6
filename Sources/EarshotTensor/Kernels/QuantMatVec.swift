import CEarshotKernels

extension Kernels {
    /// y[rows] = W[rows, cols] · x[cols] (+ bias) with W block-quantized. Multithreaded over rows
    /// for large W. cols must satisfy `QuantFormat.canQuantize(cols:)`.
    public static func matvecQuantized(_ w: UnsafeRawPointer, format: QuantFormat, rows: Int, cols: Int,
                                       x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>) {
        if rows <= 0 { return }
        precondition(QuantFormat.canQuantize(cols: cols), "quantized matvec: \(cols) columns")
        let parts = threadsFor(work: rows * cols, minimumPerThread: matvecParallelThreshold / 2)
        if parts <= 1 || rows < 8 {
            matvecQuantizedRows(w, format: format, cols: cols, x: x, y: y, range: 0..<rows)
        } else {
            parallelLoop(parts, QuantizedRowsLoop(w: w, format: format, rows: rows, cols: cols, x: x, y: y, parts: parts))
        }
        if let bias { add(y, bias, count: rows) }
    }

    /// y[rows, out] = x[rows, in] · W^T (+ bias) with W block-quantized `[out, in]`. For rows == 1
    /// this is `matvecQuantized`; otherwise the AVX2 panel GEMM, or (other CPUs and shapes) W
    /// dequantized tile by tile into `scratch` (`weightTileScratchFloats` floats) for sgemm.
    public static func linearQuantized(_ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: UnsafeRawPointer,
                                       format: QuantFormat, outFeatures: Int, bias: UnsafePointer<Float>?,
                                       y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        if rows <= 0 || outFeatures <= 0 { return }
        if rows == 1 {
            matvecQuantized(weight, format: format, rows: outFeatures, cols: inFeatures, x: x, bias: bias, y: y)
            return
        }
        broadcastRows(bias, y: y, rows: rows, cols: outFeatures)
        if format == .q8_0,
           vnniGEMM(weight, x: x, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, y: y,
                    scratch: UnsafeMutableRawPointer(scratch),
                    scratchBytes: weightTileScratchFloats(rows: outFeatures, cols: inFeatures) * 4) { return }
        if panelGEMM(weight, type: format == .q8_0 ? EK_WEIGHT_Q8_0 : EK_WEIGHT_Q4_1, x: x, rows: rows,
                     inFeatures: inFeatures, outFeatures: outFeatures, y: y) { return }
        // Output features in tiles whose f32 weights fit in L2: each tile is dequantized and
        // multiplied while still in cache, instead of writing the whole f32 matrix to memory.
        let tileRows = weightTileRows(outFeatures: outFeatures, inFeatures: inFeatures)
        let blocksPerRow = inFeatures / QuantFormat.blockSize
        var r0 = 0
        while r0 < outFeatures {
            let n = min(tileRows, outFeatures - r0)
            let blocks = n * blocksPerRow
            let parts = threadsFor(work: blocks * QuantFormat.blockSize, minimumPerThread: 1 << 15)
            let src = weight + r0 * blocksPerRow * format.blockBytes
            parallelFor(parts) { p in
                let range = split(blocks, parts: parts, index: p, align: 2)
                dequantize(src + range.lowerBound * format.blockBytes, blocks: range.count, format: format,
                           into: scratch + range.lowerBound * QuantFormat.blockSize)
            }
            gemm(transB: true, m: rows, n: n, k: inFeatures, a: x, lda: inFeatures,
                 b: scratch, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: y + r0, ldc: outFeatures)
            r0 += n
        }
    }

    /// y[rows, out] += x[rows, in] · W^T on the AVX2 panel kernel (`ek_gemm_rows`), split over
    /// output features across the kernel threads. Returns false (doing nothing) when the CPU or
    /// the shape does not allow it.
    static func panelGEMM(_ w: UnsafeRawPointer, type: Int32, x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
                          outFeatures: Int, y: UnsafeMutablePointer<Float>) -> Bool {
        #if arch(x86_64)
        guard CPUFeatures.avx2, inFeatures % 32 == 0 else { return false }
        let units = (outFeatures + 3) / 4                             // panels of 4 output features
        let parts = max(1, min(threadsFor(work: rows * outFeatures * inFeatures, minimumPerThread: 1 << 20), units))
        parallelFor(parts) { p in
            let r = split(units, parts: parts, index: p, align: 1)
            if r.isEmpty { return }
            ek_gemm_rows(type, w, Int64(inFeatures), x, Int64(inFeatures), Int64(rows), y, Int64(outFeatures),
                         Int64(r.lowerBound * 4), Int64(min(outFeatures, r.upperBound * 4)))
        }
        return true
        #else
        return false
        #endif
    }

    /// y[rows, out] += x[rows, in] · W^T for a few rows of x with W f32 or bf16, each weight row
    /// read once as one stream (`ek_gemm_few_rows`), split over output features across the kernel
    /// threads. Returns false (doing nothing) when the CPU or the shape does not allow it.
    static func fewRowsGEMM(_ w: UnsafeRawPointer, type: Int32, x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
                            outFeatures: Int, y: UnsafeMutablePointer<Float>) -> Bool {
        #if arch(x86_64)
        guard CPUFeatures.avx2, inFeatures % 8 == 0 else { return false }
        let parts = max(1, min(threadsFor(work: rows * outFeatures * inFeatures, minimumPerThread: 1 << 20), outFeatures))
        parallelFor(parts) { p in
            let r = split(outFeatures, parts: parts, index: p, align: 16)
            if r.isEmpty { return }
            ek_gemm_few_rows(type, w, Int64(inFeatures), x, Int64(inFeatures), Int64(rows), y, Int64(outFeatures),
                             Int64(r.lowerBound), Int64(r.upperBound))
        }
        return true
        #else
        return false
        #endif
    }

    /// y[rows, out] += x[rows, in] · W^T with W q8_0, on the AVX-512 VNNI kernel (`ek_q8_0_gemm_vnni`):
    /// the rows of x are quantized to int8 blocks into `scratch` (as many rows at a time as fit in
    /// `scratchBytes`), then the product is split over output features across the kernel threads.
    /// Returns false (doing nothing) when the level or the shape does not allow it.
    static func vnniGEMM(_ w: UnsafeRawPointer, x: UnsafePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int,
                         y: UnsafeMutablePointer<Float>, scratch: UnsafeMutableRawPointer, scratchBytes: Int) -> Bool {
        #if arch(x86_64)
        guard CPUFeatures.avx512, inFeatures % 32 == 0, outFeatures >= 4 else { return false }
        let rowBytes = Int(ek_q8_vnni_row_bytes(Int64(inFeatures)))
        let chunk = scratchBytes / rowBytes
        guard chunk >= 1 else { return false }
        let aq = scratch.assumingMemoryBound(to: UInt8.self)
        let wq = w.assumingMemoryBound(to: UInt8.self)
        var r0 = 0
        while r0 < rows {
            let m = min(chunk, rows - r0)
            let a = x + r0 * inFeatures, c = y + r0 * outFeatures
            let quantizers = threadsFor(work: m * inFeatures, minimumPerThread: 1 << 16)
            parallelFor(quantizers) { p in
                let r = split(m, parts: quantizers, index: p, align: 1)
                if r.isEmpty { return }
                ek_q8_vnni_quantize_rows(a, Int64(inFeatures), Int64(inFeatures), aq, Int64(r.lowerBound), Int64(r.upperBound))
            }
            // Panels of 4 output features; the last 1-3 (the 51,865-row Whisper head) on the last
            // part's AVX2 panel kernel, in f32 on the dequantized weights.
            let units = outFeatures / 4, tail = units * 4
            let parts = max(1, min(threadsFor(work: m * outFeatures * inFeatures, minimumPerThread: 1 << 20), units))
            parallelFor(parts) { p in
                let r = split(units, parts: parts, index: p, align: 1)
                if !r.isEmpty {
                    ek_q8_0_gemm_vnni(wq, Int64(inFeatures), aq, Int64(m), c, Int64(outFeatures),
                                      Int64(r.lowerBound * 4), Int64(r.upperBound * 4))
                }
                if p == parts - 1 && tail < outFeatures {
                    ek_gemm_rows(EK_WEIGHT_Q8_0, w, Int64(inFeatures), a, Int64(inFeatures), Int64(m), c,
                                 Int64(outFeatures), Int64(tail), Int64(outFeatures))
                }
            }
            r0 += m
        }
        return true
        #else
        return false
        #endif
    }

    @inline(__always)
    static func matvecQuantizedRows(_ w: UnsafeRawPointer, format: QuantFormat, cols: Int, x: UnsafePointer<Float>,
                                    y: UnsafeMutablePointer<Float>, range: Range<Int>) {
        if range.isEmpty { return }
        #if arch(x86_64)
        if CPUFeatures.avx2 {
            let b = w.assumingMemoryBound(to: UInt8.self)
            switch format {
            case .q8_0 where CPUFeatures.avx512:
                ek_q8_0_matvec_rows_vnni(b, Int64(cols), x, y, Int64(range.lowerBound), Int64(range.upperBound))
            case .q8_0: ek_q8_0_matvec_rows(b, Int64(cols), x, y, Int64(range.lowerBound), Int64(range.upperBound))
            case .q4_1: ek_q4_1_matvec_rows(b, Int64(cols), x, y, Int64(range.lowerBound), Int64(range.upperBound))
            }
            return
        }
        #endif
        switch format {
        case .q8_0: matvecRowsQ8_0(w, cols: cols, x: x, y: y, range: range)
        case .q4_1: matvecRowsQ4_1(w, cols: cols, x: x, y: y, range: range)
        }
    }

    @inline(__always)
    static func loadI8x8(_ q: UnsafePointer<Int8>) -> SIMD8<Float> {
        SIMD8<Float>(Float(q[0]), Float(q[1]), Float(q[2]), Float(q[3]),
                     Float(q[4]), Float(q[5]), Float(q[6]), Float(q[7]))
    }

    @inline(__always)
    static func loadU4x8(_ q: UnsafePointer<UInt8>, shift: UInt8) -> SIMD8<Float> {
        SIMD8<Float>(Float((q[0] &>> shift) & 15), Float((q[1] &>> shift) & 15),
                     Float((q[2] &>> shift) & 15), Float((q[3] &>> shift) & 15),
                     Float((q[4] &>> shift) & 15), Float((q[5] &>> shift) & 15),
                     Float((q[6] &>> shift) & 15), Float((q[7] &>> shift) & 15))
    }

    /// Portable q8_0 rows (SIMD8 lanes built element by element: the widening SIMD conversions
    /// measured ~100x slower, see the performance notes).
    static func matvecRowsQ8_0(_ w: UnsafeRawPointer, cols: Int, x: UnsafePointer<Float>,
                               y: UnsafeMutablePointer<Float>, range: Range<Int>) {
        let nb = cols / 32
        for r in range {
            var acc = SIMD8<Float>()
            for b in 0..<nb {
                let blk = w + (r * nb + b) * 34
                let q = (blk + 2).assumingMemoryBound(to: Int8.self)
                let xb = x + b * 32
                var s = loadI8x8(q) * load8(xb)
                s += loadI8x8(q + 8) * load8(xb + 8)
                s += loadI8x8(q + 16) * load8(xb + 16)
                s += loadI8x8(q + 24) * load8(xb + 24)
                acc += loadHalf(blk) * s
            }
            y[r] = acc.sum()
        }
    }

    /// Portable q4_1 rows: sum(w·x) = d·sum(q·x) + m·sum(x) per block.
    static func matvecRowsQ4_1(_ w: UnsafeRawPointer, cols: Int, x: UnsafePointer<Float>,
                               y: UnsafeMutablePointer<Float>, range: Range<Int>) {
        let nb = cols / 32
        for r in range {
            var acc = SIMD8<Float>()
            var offset: Float = 0
            for b in 0..<nb {
                let blk = w + (r * nb + b) * 20
                let q = (blk + 4).assumingMemoryBound(to: UInt8.self)
                let xb = x + b * 32
                var s = loadU4x8(q, shift: 0) * load8(xb)
                s += loadU4x8(q + 8, shift: 0) * load8(xb + 8)
                s += loadU4x8(q, shift: 4) * load8(xb + 16)
                s += loadU4x8(q + 8, shift: 4) * load8(xb + 24)
                acc += loadHalf(blk) * s
                let xs = (load8(xb) + load8(xb + 8)) + (load8(xb + 16) + load8(xb + 24))
                offset += loadHalf(blk + 2) * xs.sum()
            }
            y[r] = acc.sum() + offset
        }
    }
}

/// One thread's share of a quantized matrix-vector product.
struct QuantizedRowsLoop: KernelLoop {
    let w: UnsafeRawPointer, format: QuantFormat, rows: Int, cols: Int
    let x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, parts: Int
    func callAsFunction(_ p: Int) {
        Kernels.matvecQuantizedRows(w, format: format, cols: cols, x: x, y: y,
                                    range: Kernels.split(rows, parts: parts, index: p, align: 1))
    }
}

/// One matrix of a fused matrix-vector product: `y[rows] = W[rows, cols] · x`.
public struct QuantizedMatVecPart {
    public let w: UnsafeRawPointer
    public let rows: Int
    public let y: UnsafeMutablePointer<Float>
    public init(w: UnsafeRawPointer, rows: Int, y: UnsafeMutablePointer<Float>) {
        self.w = w
        self.rows = rows
        self.y = y
    }
}

extension Kernels {
    /// Two or three matrix-vector products over the same x (decode: q, k and v; gate and up) in one
    /// parallel pass: the threads split all the rows together, so there is one dispatch and one
    /// wait instead of one per matrix. Each matrix's rows give the same sums as `matvecQuantized`.
    public static func matvecQuantized(_ a: QuantizedMatVecPart, _ b: QuantizedMatVecPart, _ c: QuantizedMatVecPart?,
                                       format: QuantFormat, cols: Int, x: UnsafePointer<Float>) {
        precondition(QuantFormat.canQuantize(cols: cols), "quantized matvec: \(cols) columns")
        let total = a.rows + b.rows + (c?.rows ?? 0)
        if total <= 0 { return }
        let parts = threadsFor(work: total * cols, minimumPerThread: matvecParallelThreshold / 2)
        let loop = FusedRowsLoop(a: a, b: b, c: c, format: format, cols: cols, x: x, total: total, parts: parts)
        if parts <= 1 { loop(0) } else { parallelLoop(parts, loop) }
    }
}

/// One thread's share of a fused product: its slice of the concatenated rows, matrix by matrix.
struct FusedRowsLoop: KernelLoop {
    let a, b: QuantizedMatVecPart, c: QuantizedMatVecPart?
    let format: QuantFormat, cols: Int, x: UnsafePointer<Float>, total: Int, parts: Int

    func callAsFunction(_ p: Int) {
        let r = Kernels.split(total, parts: parts, index: p, align: 1)
        run(a, offset: 0, r)
        run(b, offset: a.rows, r)
        if let c { run(c, offset: a.rows + b.rows, r) }
    }

    @inline(__always)
    func run(_ m: QuantizedMatVecPart, offset: Int, _ r: Range<Int>) {
        let lo = max(r.lowerBound, offset), hi = min(r.upperBound, offset + m.rows)
        if lo < hi {
            Kernels.matvecQuantizedRows(m.w, format: format, cols: cols, x: x, y: m.y, range: (lo - offset)..<(hi - offset))
        }
    }
}
