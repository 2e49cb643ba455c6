import EarshotRuntime
import EarshotTensor
import Foundation

/// Weight-streaming throughput of the matrix-vector kernels, AVX2 (C) against portable Swift,
/// on matrices far larger than the caches: the numbers behind the choice of a C target.
public enum KernelBenchmark {
    public struct Row: Sendable, Codable, Equatable {
        public var kernel: String
        public var path: String
        /// Bytes of weights read per second (1e9).
        public var gbPerSecond: Double
        /// Weights per second (1e9).
        public var gigaWeightsPerSecond: Double
    }

    public enum Kernel: String, CaseIterable, Sendable {
        case q8_0, q4_1, bf16
    }

    /// Runs every kernel on `rows x cols` matrices totalling about `weightBytes` of q8_0, best of `passes`.
    public static func run(weightBytes: Int = 256 << 20, cols: Int = 1024, passes: Int = 3) throws(TensorError) -> [Row] {
        let rowsPerMatrix = 3072
        let matrices = max(1, weightBytes / QuantFormat.q8_0.byteCount(rows: rowsPerMatrix, cols: cols))
        let rows = rowsPerMatrix * matrices
        let x = try PageBuffer(byteCount: cols * 4, owner: .scratch)
        let y = try PageBuffer(byteCount: rows * 4, owner: .scratch)
        defer { x.close(); y.close() }
        for i in 0..<cols { x.floats()[i] = Float(i % 7) * 0.1 - 0.3 }
        var out: [Row] = []
        let restore = CPUFeatures.level
        defer { CPUFeatures.use(restore) }
        for kernel in Kernel.allCases {
            let bytes: Int
            switch kernel {
            case .q8_0: bytes = QuantFormat.q8_0.byteCount(rows: rows, cols: cols)
            case .q4_1: bytes = QuantFormat.q4_1.byteCount(rows: rows, cols: cols)
            case .bf16: bytes = rows * cols * 2
            }
            let w = try PageBuffer(byteCount: bytes, owner: .scratch)
            defer { w.close() }
            // Plausible contents (small scales, mixed quants) so no path meets denormals or NaNs.
            let raw = w.raw.assumingMemoryBound(to: UInt8.self)
            for i in 0..<bytes { raw[i] = UInt8(truncatingIfNeeded: (i &* 2654435761) >> 13) & 0x3F }
            // Every level the CPU runs that has its own variant of this kernel (AVX-512 VNNI: q8_0 only).
            let levels = CPUFeatures.availableLevels.reversed().filter { $0 != .avx512 || kernel == .q8_0 }
            for level in levels {
                let path = level.description
                CPUFeatures.use(level)
                var best = Double.infinity
                for _ in 0...passes {
                    let start = ContinuousClock.now
                    for m in 0..<matrices {
                        let r0 = m * rowsPerMatrix
                        switch kernel {
                        case .q8_0, .q4_1:
                            let format: QuantFormat = kernel == .q8_0 ? .q8_0 : .q4_1
                            Kernels.matvecQuantized(w.raw + format.byteCount(rows: r0, cols: cols), format: format,
                                                    rows: rowsPerMatrix, cols: cols, x: x.floats(), bias: nil, y: y.floats() + r0)
                        case .bf16:
                            Kernels.matvecBF16(w.raw.assumingMemoryBound(to: UInt16.self) + r0 * cols, rows: rowsPerMatrix,
                                               cols: cols, x: x.floats(), bias: nil, y: y.floats() + r0)
                        }
                    }
                    best = min(best, (ContinuousClock.now - start).seconds)
                }
                out.append(Row(kernel: kernel.rawValue, path: path, gbPerSecond: Double(bytes) / best / 1e9,
                               gigaWeightsPerSecond: Double(rows * cols) / best / 1e9))
            }
        }
        return out
    }
}
