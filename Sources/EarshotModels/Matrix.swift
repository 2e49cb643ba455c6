import EarshotTensor

/// A weight matrix in PyTorch layout `[out, in]`, used in place from its mapping.
///
/// bf16 and block-quantized weights stay in their storage type and are computed in f32: single
/// rows go through a matrix-vector product on the stored type, batches through sgemm after
/// converting the matrix into the caller's scratch (one matrix at a time, never the whole model).
public struct Matrix: @unchecked Sendable {
    // @unchecked: points into read-only weight mappings owned by the model's `WeightStore`.
    public enum Storage {
        case f32(UnsafePointer<Float>)
        case bf16(UnsafePointer<UInt16>)
        /// `rows * cols / 32` blocks of `format` (cols a multiple of 32).
        case quantized(UnsafeRawPointer, QuantFormat)
    }

    public let storage: Storage
    public let rows: Int   // out features
    public let cols: Int   // in features

    public init(storage: Storage, rows: Int, cols: Int) {
        self.storage = storage
        self.rows = rows
        self.cols = cols
    }

    /// Rows `range` of this matrix, in place (e.g. the query, key and value parts of a fused
    /// `[3d, d]` projection).
    public func rows(_ range: Range<Int>) -> Matrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "row slice out of bounds")
        let s: Storage
        switch storage {
        case .f32(let w): s = .f32(w + range.lowerBound * cols)
        case .bf16(let w): s = .bf16(w + range.lowerBound * cols)
        case .quantized(let w, let f): s = .quantized(w + f.byteCount(rows: range.lowerBound, cols: cols), f)
        }
        return Matrix(storage: s, rows: range.count, cols: cols)
    }

    /// The block format when the weights are quantized, else nil.
    public var quantFormat: QuantFormat? {
        if case .quantized(_, let format) = storage { return format }
        return nil
    }

    /// Bytes of weight data (what one matrix-vector product reads).
    public var byteCount: Int {
        switch storage {
        case .f32: return rows * cols * 4
        case .bf16: return rows * cols * 2
        case .quantized(_, let format): return format.byteCount(rows: rows, cols: cols)
        }
    }

    /// Floats of scratch `apply` needs for batches (`count > 1`).
    public var scratchFloats: Int {
        switch storage {
        case .f32: return 0
        case .bf16, .quantized: return Kernels.weightTileScratchFloats(rows: rows, cols: cols)
        }
    }

    /// y[count, rows] = x[count, cols] · W^T (+ bias).
    @inline(__always)
    public func apply(_ x: UnsafePointer<Float>, count: Int, bias: UnsafePointer<Float>?,
                      into y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        switch storage {
        case .f32(let w):
            Kernels.linear(x, rows: count, inFeatures: cols, weight: w, outFeatures: rows, bias: bias, y: y)
        case .bf16(let w):
            Kernels.linearBF16(x, rows: count, inFeatures: cols, weight: w, outFeatures: rows, bias: bias, y: y,
                               scratch: scratch)
        case .quantized(let w, let format):
            Kernels.linearQuantized(x, rows: count, inFeatures: cols, weight: w, format: format, outFeatures: rows,
                                    bias: bias, y: y, scratch: scratch)
        }
    }

    /// Copies row `i` as f32 into `dst[cols]` (embedding lookup).
    @inline(__always)
    public func copyRow(_ i: Int, into dst: UnsafeMutablePointer<Float>) {
        switch storage {
        case .f32(let w): dst.update(from: w + i * cols, count: cols)
        case .bf16(let w): Kernels.bf16ToF32(w + i * cols, dst, count: cols)
        case .quantized(let w, let format):
            let blocks = cols / QuantFormat.blockSize
            Kernels.dequantize(w + i * blocks * format.blockBytes, blocks: blocks, format: format, into: dst)
        }
    }
}

extension Matrix {
    /// `ya = a · x`, `yb = b · x` (and `yc = c · x`) for one row x: fused into one parallel pass
    /// (`Kernels.matvecQuantized(_:_:_:)`) when all are quantized in one format over the same
    /// columns, else one product after another. Decode uses it for q/k/v and gate/up.
    @inline(__always)
    public static func applyRow(_ x: UnsafePointer<Float>, _ a: Matrix, into ya: UnsafeMutablePointer<Float>,
                                _ b: Matrix, into yb: UnsafeMutablePointer<Float>,
                                _ c: Matrix? = nil, into yc: UnsafeMutablePointer<Float>? = nil,
                                scratch: UnsafeMutablePointer<Float>) {
        if case .quantized(let wa, let format) = a.storage, case .quantized(let wb, format) = b.storage, a.cols == b.cols {
            var third: QuantizedMatVecPart?
            if let c, let yc {
                if case .quantized(let wc, format) = c.storage, c.cols == a.cols {
                    third = QuantizedMatVecPart(w: wc, rows: c.rows, y: yc)
                }
            }
            if c == nil || third != nil {
                Kernels.matvecQuantized(QuantizedMatVecPart(w: wa, rows: a.rows, y: ya), QuantizedMatVecPart(w: wb, rows: b.rows, y: yb),
                                        third, format: format, cols: a.cols, x: x)
                return
            }
        }
        a.apply(x, count: 1, bias: nil, into: ya, scratch: scratch)
        b.apply(x, count: 1, bias: nil, into: yb, scratch: scratch)
        if let c, let yc { c.apply(x, count: 1, bias: nil, into: yc, scratch: scratch) }
    }
}

extension Matrix {
    /// Bytes of scratch `applyRows` needs for `count` rows.
    public func rowsScratchBytes(count: Int) -> Int {
        quantFormat == nil ? 0 : Kernels.batchedMatVecScratchBytes(count: count, cols: cols)
    }

    /// `y[i] = W · x[i]` for `count` rows of x `[count, cols]` into y `[count, rows]`: one decode
    /// step of `count` sequences, each row bit-identical to `apply(x[i], count: 1)` (batched and
    /// unbatched decoding agree token for token). Quantized weights are read once for all rows
    /// where the kernel level allows it (`Kernels.matvecQuantizedBatch`).
    public func applyRows(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>,
                          scratch: UnsafeMutableRawPointer) {
        if case .quantized(let w, let format) = storage {
            Kernels.matvecQuantizedBatch(w, format: format, rows: rows, cols: cols, x: x, count: count, bias: nil,
                                         y: y, scratch: scratch)
            return
        }
        // f32 and bf16 single rows are matrix-vector products that use no scratch.
        let unused = scratch.assumingMemoryBound(to: Float.self)
        for i in 0..<count { apply(x + i * cols, count: 1, bias: nil, into: y + i * rows, scratch: unused) }
    }
}
