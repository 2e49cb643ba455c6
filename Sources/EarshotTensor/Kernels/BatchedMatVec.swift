import CEarshotKernels

extension Kernels {
    /// Bytes of scratch `matvecQuantizedBatch` needs for `count` rows of `cols` columns: the rows
    /// quantized to int8 blocks of 32 with their scales, in the VNNI kernels' layout.
    public static func batchedMatVecScratchBytes(count: Int, cols: Int) -> Int {
        #if arch(x86_64)
        return count * Int(ek_q8_decode_row_bytes(Int64(cols)))
        #else
        return 0
        #endif
    }

    /// `y[i, :rows] = W · x[i, :cols] (+ bias)` for each of `count` rows of x: the matrix-vector
    /// product of every sequence in a decode batch, each row **bit-identical** to
    /// `matvecQuantized` on that row alone (batched and unbatched decoding pick the same tokens).
    /// On AVX-512 VNNI, q8_0 weights are read once for all rows by the kernel the one-row product
    /// uses too (`ek_q8_0_decode_vnni`, whose rows do not depend on each other); elsewhere each row
    /// is its own matrix-vector product. `scratch` holds `batchedMatVecScratchBytes(count:cols:)` bytes.
    public static func matvecQuantizedBatch(_ w: UnsafeRawPointer, format: QuantFormat, rows: Int, cols: Int,
                                            x: UnsafePointer<Float>, count: Int, bias: UnsafePointer<Float>?,
                                            y: UnsafeMutablePointer<Float>, scratch: UnsafeMutableRawPointer) {
        if rows <= 0 || count <= 0 { return }
        #if arch(x86_64)
        if format == .q8_0, CPUFeatures.avx512, count > 1 {
            precondition(QuantFormat.canQuantize(cols: cols), "quantized matvec: \(cols) columns")
            let aq = scratch.assumingMemoryBound(to: UInt8.self)
            ek_q8_decode_quantize_rows(x, Int64(cols), Int64(cols), aq, Int64(count))
            let wq = w.assumingMemoryBound(to: UInt8.self)
            let parts = threadsFor(work: rows * cols * count, minimumPerThread: matvecParallelThreshold / 2)
            let n = parts <= 1 || rows < 8 ? 1 : parts
            parallelFor(n) { p in
                let r = split(rows, parts: n, index: p, align: 1)
                if r.isEmpty { return }
                ek_q8_0_decode_vnni(wq, Int64(cols), aq, Int64(count), y, Int64(rows),
                                    Int64(r.lowerBound), Int64(r.upperBound))
            }
            if let bias { for i in 0..<count { add(y + i * rows, bias, count: rows) } }
            return
        }
        #endif
        for i in 0..<count {
            matvecQuantized(w, format: format, rows: rows, cols: cols, x: x + i * cols, bias: bias, y: y + i * rows)
        }
    }
}
