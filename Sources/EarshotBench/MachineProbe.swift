import Dispatch
import EarshotRuntime
import EarshotTensor
import Foundation

/// What this machine can do at best, measured in-process so a speed benchmark can say how close
/// decoding gets to the memory-bandwidth bound and prefill to the sgemm peak.
///
/// Both probes use `PageBuffer`s (mapped and unmapped around the probe; nothing on the malloc heap)
/// and report the best of a few passes after one untimed pass.
public enum MachineProbe {
    /// The two figures `earshot bench speed` reports for the machine.
    public struct Measurement: Sendable, Codable, Equatable {
        /// Multi-threaded read bandwidth of a buffer much larger than the caches, in GB/s (1e9 bytes).
        public var readBandwidthGBPerS: Double
        /// `Kernels.gemm` throughput in GFLOPS (1e9 floating-point operations per second).
        public var sgemmGFLOPS: Double

        public init(readBandwidthGBPerS: Double, sgemmGFLOPS: Double) {
            self.readBandwidthGBPerS = readBandwidthGBPerS
            self.sgemmGFLOPS = sgemmGFLOPS
        }

        enum CodingKeys: String, CodingKey {
            case readBandwidthGBPerS = "read_bandwidth_gb_per_s", sgemmGFLOPS = "sgemm_gflops"
        }
    }

    /// Default probe sizes: 512 MB to read, a 1024 x 1024 x 1024 product.
    public static let defaultReadBytes = 512 << 20
    public static let defaultGemmSize = 1024

    /// Both probes: `readBytes` read with `threads` threads, then an `n x n x n` sgemm (on the
    /// `Kernels` thread count, which should equal `threads`).
    public static func measure(readBytes: Int = defaultReadBytes, threads: Int = Kernels.threadCount,
                               gemmSize n: Int = defaultGemmSize, passes: Int = 3) throws(MachineProbeError) -> Measurement {
        let bandwidth = try readBandwidth(bytes: readBytes, threads: threads, passes: passes)
        let gflops = try sgemmGFLOPS(m: n, n: n, k: n, passes: passes)
        return Measurement(readBandwidthGBPerS: bandwidth, sgemmGFLOPS: gflops)
    }

    /// Reads `bytes` (rounded down to whole 64-byte lines, at least one per thread) split into
    /// `threads` contiguous parts, one per thread, and returns the best pass in GB/s. The buffer is
    /// written first, so every page is real memory rather than the shared zero page.
    public static func readBandwidth(bytes: Int, threads: Int, passes: Int = 3) throws(MachineProbeError) -> Double {
        let threads = max(1, threads)
        let lines = bytes / lineBytes
        guard lines >= threads else { throw .invalidSize("read size \(bytes) bytes is under 64 bytes per thread") }
        let buffer: PageBuffer
        do { buffer = try PageBuffer(byteCount: lines * lineBytes, owner: .scratch) } catch { throw .allocation(error) }
        defer { buffer.close() }
        memset(buffer.raw, 0x5A, buffer.byteCount)

        let base = Int(bitPattern: buffer.raw)
        var sinks = [UInt64](repeating: 0, count: threads)
        var best = Double.infinity
        for pass in 0...max(1, passes) {
            let seconds = sinks.withUnsafeMutableBufferPointer { sinkBuffer -> Double in
                let sinkAddress = Int(bitPattern: sinkBuffer.baseAddress!)
                let start = ContinuousClock.now
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    let first = lines * t / threads, last = lines * (t + 1) / threads
                    let p = UnsafeRawPointer(bitPattern: base + first * lineBytes)!
                    let sum = readLines(p, count: last - first)
                    UnsafeMutablePointer<UInt64>(bitPattern: sinkAddress)![t] = sum
                }
                return (ContinuousClock.now - start).seconds
            }
            if pass > 0 { best = min(best, seconds) }   // pass 0 is the untimed warm-up
        }
        // The sums are only kept so the reads cannot be optimised away.
        _ = sinks.reduce(0, ^)
        return Double(buffer.byteCount) / best / 1e9
    }

    /// Runs `C[m,n] = A[m,k] * B[k,n]` through `Kernels.gemm` and returns the best pass in GFLOPS
    /// (`2 * m * n * k` operations per product).
    public static func sgemmGFLOPS(m: Int, n: Int, k: Int, passes: Int = 3) throws(MachineProbeError) -> Double {
        guard m > 0, n > 0, k > 0 else { throw .invalidSize("sgemm sizes must be positive (m \(m), n \(n), k \(k))") }
        let a: PageBuffer, b: PageBuffer, c: PageBuffer
        do {
            a = try PageBuffer(byteCount: m * k * 4, owner: .scratch)
            b = try PageBuffer(byteCount: k * n * 4, owner: .scratch)
            c = try PageBuffer(byteCount: m * n * 4, owner: .scratch)
        } catch {
            throw .allocation(error)
        }
        defer {
            a.close()
            b.close()
            c.close()
        }
        fill(a.floats(), count: m * k)
        fill(b.floats(), count: k * n)
        var best = Double.infinity
        for pass in 0...max(1, passes) {
            let start = ContinuousClock.now
            Kernels.gemm(m: m, n: n, k: k, a: a.floats(), lda: k, b: b.floats(), ldb: n, c: c.floats(), ldc: n)
            let seconds = (ContinuousClock.now - start).seconds
            if pass > 0 { best = min(best, seconds) }
        }
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }

    // MARK: - Helpers

    static let lineBytes = 64

    /// Sums `count` 64-byte lines as 64-bit words (eight independent accumulators, one per word of a line).
    private static func readLines(_ p: UnsafeRawPointer, count: Int) -> UInt64 {
        let words = p.assumingMemoryBound(to: UInt64.self)
        var s0: UInt64 = 0, s1: UInt64 = 0, s2: UInt64 = 0, s3: UInt64 = 0
        var s4: UInt64 = 0, s5: UInt64 = 0, s6: UInt64 = 0, s7: UInt64 = 0
        var i = 0
        let end = count * 8
        while i < end {
            s0 &+= words[i]
            s1 &+= words[i + 1]
            s2 &+= words[i + 2]
            s3 &+= words[i + 3]
            s4 &+= words[i + 4]
            s5 &+= words[i + 5]
            s6 &+= words[i + 6]
            s7 &+= words[i + 7]
            i += 8
        }
        return s0 ^ s1 ^ s2 ^ s3 ^ s4 ^ s5 ^ s6 ^ s7
    }

    /// Small, varied, finite values (no denormals, no zeros a BLAS could skip).
    private static func fill(_ p: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { p[i] = Float(i % 97 + 1) / 97 }
    }
}

/// Why a machine probe could not run.
public enum MachineProbeError: Error, Sendable, CustomStringConvertible {
    /// A probe size that cannot be measured.
    case invalidSize(String)
    /// Mapping a probe buffer failed.
    case allocation(TensorError)

    public var description: String {
        switch self {
        case .invalidSize(let why): return "machine probe: \(why)"
        case .allocation(let e): return "machine probe: \(e)"
        }
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
