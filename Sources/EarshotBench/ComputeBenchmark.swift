import EarshotRuntime
import EarshotTensor
import Foundation

/// What prefill can hope for on this CPU: the f32 FMA and int8 multiply-add peaks of its cores, and
/// the GEMM kernels' throughput at the shapes the Qwen3 models' prefill runs (`earshot bench
/// kernels --compute`). The aligner's one pass is compute-bound, so these bound its speed.
public enum ComputeBenchmark {
    public struct Row: Sendable, Codable, Equatable {
        public var probe: String
        public var path: String
        /// 1e9 floating-point (or integer multiply and add) operations per second.
        public var gigaOpsPerSecond: Double
    }

    /// A prefill product: rows of activations x `[outFeatures, inFeatures]` weights.
    public struct Shape: Sendable {
        public var name: String, rows: Int, inFeatures: Int, outFeatures: Int
    }

    /// The 0.6B aligner on 30 s (624 prompt rows through the decoder's MLP, 390 encoder rows
    /// through fc2) and a short Qwen3-ASR prompt (119 rows).
    public static let shapes = [
        Shape(name: "decoder gate/up, 624 rows", rows: 624, inFeatures: 1024, outFeatures: 3072),
        Shape(name: "encoder fc2, 390 rows", rows: 390, inFeatures: 4096, outFeatures: 1024),
        Shape(name: "decoder gate/up, 119 rows", rows: 119, inFeatures: 1024, outFeatures: 3072),
    ]

    public static func run(threads: Int = Kernels.threadCount, passes: Int = 3) throws(TensorError) -> [Row] {
        var rows: [Row] = []
        #if arch(x86_64)
        if CPUFeatures.hasAVX2 {
            rows += try peaks(threads: 1, passes: passes)
            if threads > 1 { rows += try peaks(threads: threads, passes: passes) }
        }
        #endif
        for shape in shapes { rows += try gemm(shape, passes: passes) }
        return rows
    }

    #if arch(x86_64)
    /// f32 FMA and int8 dot-product peaks with `threads` threads at once.
    static func peaks(threads: Int, passes: Int) throws(TensorError) -> [Row] {
        let iterations = 20_000_000
        let bytes = 16 << 10
        let buffer = try PageBuffer(byteCount: bytes, owner: .scratch)
        defer { buffer.close() }
        let raw = buffer.raw.assumingMemoryBound(to: UInt8.self)
        for i in 0..<bytes { raw[i] = UInt8(truncatingIfNeeded: i &* 37) & 0x7F }
        let sink = Sink()
        let fma = best(passes) {
            Kernels.parallelRows(threads, parts: threads) { _, _ in sink.add(Double(Kernels.probeFMA(iterations: iterations))) }
        }
        let int8 = best(passes) {
            Kernels.parallelRows(threads, parts: threads) { _, _ in
                sink.add(Double(Kernels.probeInt8Dot(raw, bytes: bytes, iterations: iterations)))
            }
        }
        let label = threads == 1 ? "1 core" : "\(threads) threads"
        var rows = [
            Row(probe: "peak f32 FMA, \(label)", path: "avx2", gigaOpsPerSecond: Double(threads) * Double(iterations) * 192 / fma / 1e9),
            Row(probe: "peak int8 multiply-add (x2 ops), \(label)", path: "avx2",
                gigaOpsPerSecond: Double(threads) * Double(iterations) * 512 / int8 / 1e9),
        ]
        if CPUFeatures.hasAVX512VNNI {
            let vnni = best(passes) {
                Kernels.parallelRows(threads, parts: threads) { _, _ in
                    sink.add(Double(Kernels.probeVNNIDot(raw, bytes: bytes, iterations: iterations)))
                }
            }
            rows.append(Row(probe: "peak int8 multiply-add (x2 ops), \(label)", path: "avx512-vnni",
                            gigaOpsPerSecond: Double(threads) * Double(iterations) * 512 / vnni / 1e9))
        }
        return rows
    }
    #endif

    /// The levels `run` times q8_0 at: every one this CPU runs from AVX2 up, best first.
    static var q8Levels: [KernelLevel] {
        CPUFeatures.availableLevels.reversed().filter { $0 >= .avx2 || CPUFeatures.bestLevel == .portable }
    }

    /// One prefill product through the q8_0 kernels at each of `levels` (the level in force is
    /// restored after), the bf16 panel kernel and f32 sgemm.
    static func gemm(_ s: Shape, passes: Int, levels: [KernelLevel] = q8Levels) throws(TensorError) -> [Row] {
        let x = try PageBuffer(byteCount: s.rows * s.inFeatures * 4, owner: .scratch)
        let y = try PageBuffer(byteCount: s.rows * s.outFeatures * 4, owner: .scratch)
        let wf = try PageBuffer(byteCount: s.outFeatures * s.inFeatures * 4, owner: .scratch)
        let wb = try PageBuffer(byteCount: s.outFeatures * s.inFeatures * 2, owner: .scratch)
        let wq = try PageBuffer(byteCount: QuantFormat.q8_0.byteCount(rows: s.outFeatures, cols: s.inFeatures), owner: .scratch)
        let scratch = try PageBuffer(byteCount: Kernels.weightTileScratchFloats(rows: s.outFeatures, cols: s.inFeatures) * 4,
                                     owner: .scratch)
        defer { [x, y, wf, wb, wq, scratch].forEach { $0.close() } }
        let n = s.outFeatures * s.inFeatures
        for i in 0..<(s.rows * s.inFeatures) { x.floats()[i] = Float(i % 13) * 0.01 - 0.06 }
        for i in 0..<n { wf.floats()[i] = Float(i % 7) * 0.02 - 0.06 }
        let bf = wb.raw.assumingMemoryBound(to: UInt16.self)
        for i in 0..<n { bf[i] = UInt16(truncatingIfNeeded: wf.floats()[i].bitPattern >> 16) }
        Kernels.quantize(wf.floats(), rows: s.outFeatures, cols: s.inFeatures, format: .q8_0, into: wq.raw)
        let flops = 2 * Double(s.rows) * Double(n)
        func row(_ path: String, _ body: () -> Void) -> Row {
            Row(probe: s.name, path: path, gigaOpsPerSecond: flops / best(passes, body) / 1e9)
        }
        let restore = CPUFeatures.level
        defer { if CPUFeatures.level != restore { CPUFeatures.use(restore) } }
        var out: [Row] = []
        for level in levels {
            if CPUFeatures.level != level { CPUFeatures.use(level) }
            out.append(row("q8_0 \(level)") {
                Kernels.linearQuantized(x.floats(), rows: s.rows, inFeatures: s.inFeatures, weight: wq.raw, format: .q8_0,
                                        outFeatures: s.outFeatures, bias: nil, y: y.floats(), scratch: scratch.floats())
            })
        }
        if CPUFeatures.level != restore { CPUFeatures.use(restore) }
        return out + [
            row("bf16 panel") {
                Kernels.linearBF16(x.floats(), rows: s.rows, inFeatures: s.inFeatures, weight: bf, outFeatures: s.outFeatures,
                                   bias: nil, y: y.floats(), scratch: scratch.floats())
            },
            row("f32 sgemm") {
                Kernels.linear(x.floats(), rows: s.rows, inFeatures: s.inFeatures, weight: wf.floats(),
                               outFeatures: s.outFeatures, bias: nil, y: y.floats())
            },
        ]
    }

    /// Best seconds of `passes` timed runs after one untimed run.
    static func best(_ passes: Int, _ body: () -> Void) -> Double {
        body()
        var best = Double.infinity
        for _ in 0..<max(1, passes) {
            let start = ContinuousClock.now
            body()
            best = min(best, (ContinuousClock.now - start).seconds)
        }
        return best
    }

    /// Keeps the probes' results alive (so the work is not optimised away).
    final class Sink: @unchecked Sendable {
        // @unchecked: written under `lock` only.
        private let lock = NSLock()
        private var total = 0.0
        func add(_ v: Double) { lock.withLock { total += v } }
    }
}
