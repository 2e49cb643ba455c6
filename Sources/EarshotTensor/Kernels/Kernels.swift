import Dispatch
import Foundation
import Synchronization

#if canImport(Accelerate)
import Accelerate
#elseif canImport(CEarshotBLAS)
import CEarshotBLAS
#endif

/// CPU kernels over raw, row-major `Float` buffers.
///
/// Every kernel takes explicit sizes and pointers, allocates nothing, and is safe to call
/// concurrently from several threads as long as the output buffers do not overlap.
/// Large matrix-vector products and attention split their work across `threadCount` threads
/// on the kernels' own worker threads (`KernelThreads`).
public enum Kernels {
    private static let configuredThreads = Atomic<Int>(max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// Number of threads the kernels (and the BLAS library) use for large problems.
    public static var threadCount: Int { configuredThreads.load(ordering: .relaxed) }

    /// The most threads the kernels use: each is a real thread with its own stack and buffers, so a
    /// caller's typo (100,000) must not become 100,000 threads. Options are checked against it
    /// (`OptionBounds.threads`); `setThreadCount` clamps to it as well.
    public static let maxThreads = 256

    /// Sets `threadCount`, the number of Earshot's own kernel threads (clamped to 1...`maxThreads`).
    /// OpenBLAS's count is not touched: it stays single-threaded (below). Takes effect at the next
    /// kernel call; attention scratch (`attentionScratchCount(lk:)`) does not depend on the count.
    public static func setThreadCount(_ n: Int) {
        let count = min(max(1, n), maxThreads)
        configuredThreads.store(count, ordering: .relaxed)
    }

    /// OpenBLAS runs single-threaded, called from the kernels' own threads (see `gemm`): its
    /// worker threads spin for a long while after each call, and on a machine with as many
    /// threads as cores they then steal the cores the next matrix-vector product needs (measured:
    /// Whisper tiny.en decoding 5x slower at 2 threads than at 1).
    static let blasSingleThreaded: Void = {
        #if !canImport(Accelerate) && canImport(CEarshotBLAS)
        openblas_set_num_threads(1)
        #endif
    }()

    /// Runs `body(i)` for `i` in `0..<iterations`, in parallel when `iterations > 1`, on the
    /// kernels' own threads (`KernelThreads`: no allocation per call).
    @inline(__always)
    static func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
        if iterations <= 1 {
            if iterations == 1 { body(0) }
            return
        }
        KernelThreads.shared.run(iterations, threads: threadCount, body)
    }

    /// `parallelFor` for the per-token kernels: the body is a struct, so nothing is allocated.
    @inline(__always)
    static func parallelLoop<L: KernelLoop>(_ iterations: Int, _ loop: L) {
        if iterations <= 1 {
            if iterations == 1 { loop(0) }
            return
        }
        KernelThreads.shared.run(iterations, threads: threadCount, loop)
    }

    /// Runs `body(part, rows)` over `parts` contiguous slices of `0..<count` in parallel.
    public static func parallelRows(_ count: Int, parts: Int, _ body: (Int, Range<Int>) -> Void) {
        let n = max(1, min(parts, count))
        parallelFor(n) { p in body(p, split(count, parts: n, index: p, align: 1)) }
    }

    /// Splits `0..<count` into `parts` contiguous ranges whose bounds are multiples of `align`
    /// (except the last end), and returns range `index`.
    @inline(__always)
    static func split(_ count: Int, parts: Int, index: Int, align: Int) -> Range<Int> {
        let units = (count + align - 1) / align
        let lo = units * index / parts * align
        let hi = index == parts - 1 ? count : min(count, units * (index + 1) / parts * align)
        return min(lo, count)..<hi
    }

    /// How many threads a problem touching `work` elements should use.
    @inline(__always)
    static func threadsFor(work: Int, minimumPerThread: Int) -> Int {
        let t = threadCount
        if t <= 1 || work < 2 * minimumPerThread { return 1 }
        return max(1, min(t, work / minimumPerThread))
    }

    /// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, row-major, through the system BLAS.
    /// `lda`, `ldb`, `ldc` are row strides (in floats) of A, B, C as stored.
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m <= 0 || n <= 0 { return }
        if k <= 0 {
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
            return
        }
        _ = blasSingleThreaded
        // Split the larger of C's dimensions across the kernel threads, one single-threaded sgemm each.
        let parts = threadsFor(work: m * n * k, minimumPerThread: 1 << 20)
        if parts > 1, max(m, n) >= 32 * parts {
            if m >= n {
                parallelFor(parts) { p in
                    let r = split(m, parts: parts, index: p, align: 8)
                    guard !r.isEmpty else { return }
                    sgemmSingle(transA, transB, r.count, n, k, alpha, transA ? a + r.lowerBound : a + r.lowerBound * lda, lda,
                          b, ldb, beta, c + r.lowerBound * ldc, ldc)
                }
            } else {
                parallelFor(parts) { p in
                    let r = split(n, parts: parts, index: p, align: 16)
                    guard !r.isEmpty else { return }
                    sgemmSingle(transA, transB, m, r.count, k, alpha, a, lda,
                          transB ? b + r.lowerBound * ldb : b + r.lowerBound, ldb, beta, c + r.lowerBound, ldc)
                }
            }
            return
        }
        sgemmSingle(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// One single-threaded sgemm on the calling thread (for use inside a kernel's parallel loop).
    @inline(__always)
    static func sgemmSingle(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                              _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                              _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        #if canImport(Accelerate)
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
                    b, Int32(ldb), beta, c, Int32(ldc))
        #else
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda),
                    b, blasint(ldb), beta, c, blasint(ldc))
        #endif
    }

    /// Index of the first maximum of `x[0..<count]` (NaNs are skipped; 0 when count <= 0).
    public static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
        if count <= 0 { return 0 }
        var best = 0
        var bestValue = x[0]
        var i = 1
        while i < count {
            let v = x[i]
            if v > bestValue || (bestValue.isNaN && !v.isNaN) {
                best = i
                bestValue = v
            }
            i += 1
        }
        return best
    }
}
