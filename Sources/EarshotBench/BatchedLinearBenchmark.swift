import EarshotTensor
import Foundation

/// Throughput of `y[M, out] = x[M, in] · W^T` for a few rows M (beams, batched decode sequences)
/// on matrices far larger than the caches: how close each weight format stays to the one-row
/// weight stream as rows are added. For f32 the same product through sgemm (which packs W first)
/// is measured beside Earshot's path, the comparison behind `Kernels.fewRowsMax`.
public enum BatchedLinearBenchmark {
    public struct Row: Sendable, Codable, Equatable {
        public var format: String
        /// "earshot" (what `Matrix.apply` runs for a batch of rows), "sgemm" (OpenBLAS on the same f32
        /// weights) or, for q8_0, "decode batch" (`Matrix.applyRows`: each row bit-identical to its
        /// one-row matrix-vector product, what batched decoding runs).
        public var path: String
        public var rows: Int
        /// Milliseconds per pass over every matrix.
        public var milliseconds: Double
        /// Bytes of weights read per second (1e9).
        public var gbPerSecond: Double
        /// Multiply-adds per second (1e9).
        public var gigaMACsPerSecond: Double
    }

    public enum Format: String, CaseIterable, Sendable {
        case f32, q8_0, bf16
    }

    public static let defaultRows = [1, 2, 4, 5, 8, 16, 32]

    /// Every format at every row count, on `[outFeatures, cols]` matrices totalling about
    /// `weightBytes` of f32 (fewer bytes for the narrower formats: the same matrices), best of `passes`.
    public static func run(rowCounts: [Int] = defaultRows, weightBytes: Int = 256 << 20, cols: Int = 512,
                           outFeatures: Int = 4096, passes: Int = 3) throws(TensorError) -> [Row] {
        let matrices = max(1, weightBytes / (outFeatures * cols * 4))
        let maxRows = rowCounts.max() ?? 1
        let x = try PageBuffer(byteCount: maxRows * cols * 4, owner: .scratch)
        let y = try PageBuffer(byteCount: maxRows * outFeatures * 4, owner: .scratch)
        let scratch = try PageBuffer(byteCount: max(Kernels.weightTileScratchFloats(rows: outFeatures, cols: cols) * 4,
                                                    Kernels.batchedMatVecScratchBytes(count: maxRows, cols: cols)),
                                     owner: .scratch)
        defer { x.close(); y.close(); scratch.close() }
        for i in 0..<(maxRows * cols) { x.floats()[i] = Float(i % 7) * 0.1 - 0.3 }
        var out: [Row] = []
        for format in Format.allCases {
            let matrixBytes: Int
            switch format {
            case .f32: matrixBytes = outFeatures * cols * 4
            case .bf16: matrixBytes = outFeatures * cols * 2
            case .q8_0: matrixBytes = QuantFormat.q8_0.byteCount(rows: outFeatures, cols: cols)
            }
            let w = try PageBuffer(byteCount: matrixBytes * matrices, owner: .scratch)
            defer { w.close() }
            fill(w, format: format, count: matrixBytes * matrices)
            let paths = format == .f32 ? ["earshot", "sgemm"] : format == .q8_0 ? ["earshot", "decode batch"] : ["earshot"]
            for rows in rowCounts {
                for path in paths {
                    var best = Double.infinity
                    for _ in 0...passes {
                        let start = ContinuousClock.now
                        for m in 0..<matrices {
                            let base = w.raw + m * matrixBytes
                            product(format, path: path, base, rows: rows, cols: cols, outFeatures: outFeatures,
                                    x: x.floats(), y: y.floats(), scratch: scratch.floats())
                        }
                        best = min(best, (ContinuousClock.now - start).seconds)
                    }
                    let macs = Double(matrices * rows * outFeatures * cols)
                    out.append(Row(format: format.rawValue, path: path, rows: rows, milliseconds: best * 1e3,
                                   gbPerSecond: Double(matrixBytes * matrices) / best / 1e9,
                                   gigaMACsPerSecond: macs / best / 1e9))
                }
            }
        }
        return out
    }

    private static func product(_ format: Format, path: String, _ w: UnsafeMutableRawPointer, rows: Int, cols: Int,
                                outFeatures: Int, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>,
                                scratch: UnsafeMutablePointer<Float>) {
        switch format {
        case .f32 where path == "sgemm":
            Kernels.gemm(transB: true, m: rows, n: outFeatures, k: cols, a: x, lda: cols,
                         b: w.assumingMemoryBound(to: Float.self), ldb: cols, beta: 0, c: y, ldc: outFeatures)
        case .f32:
            Kernels.linear(x, rows: rows, inFeatures: cols, weight: w.assumingMemoryBound(to: Float.self),
                           outFeatures: outFeatures, bias: nil, y: y)
        case .bf16:
            Kernels.linearBF16(x, rows: rows, inFeatures: cols, weight: w.assumingMemoryBound(to: UInt16.self),
                               outFeatures: outFeatures, bias: nil, y: y, scratch: scratch)
        case .q8_0 where path == "decode batch":
            Kernels.matvecQuantizedBatch(UnsafeRawPointer(w), format: .q8_0, rows: outFeatures, cols: cols, x: x,
                                         count: rows, bias: nil, y: y, scratch: UnsafeMutableRawPointer(scratch))
        case .q8_0:
            Kernels.linearQuantized(x, rows: rows, inFeatures: cols, weight: UnsafeRawPointer(w), format: .q8_0,
                                    outFeatures: outFeatures, bias: nil, y: y, scratch: scratch)
        }
    }

    /// Plausible weights: small finite values (q8_0: small f16 scales and mixed quants), so no path
    /// meets denormals, infinities or NaNs.
    private static func fill(_ w: PageBuffer, format: Format, count: Int) {
        switch format {
        case .f32:
            let f = w.raw.assumingMemoryBound(to: Float.self)
            for i in 0..<(count / 4) { f[i] = Float(Int((i &* 2654435761) >> 13) & 0xFF) / 2048 - 0.06 }
        case .bf16:
            let h = w.raw.assumingMemoryBound(to: UInt16.self)
            for i in 0..<(count / 2) { h[i] = 0x3C00 | UInt16((i &* 2654435761) >> 13 & 0x7F) }   // ~0.008-0.016
        case .q8_0:
            let raw = w.raw.assumingMemoryBound(to: UInt8.self)
            for i in 0..<count { raw[i] = UInt8(truncatingIfNeeded: (i &* 2654435761) >> 13) & 0x3F }
        }
    }
}
