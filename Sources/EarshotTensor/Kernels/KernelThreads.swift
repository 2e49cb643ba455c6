import CEarshotKernels
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kernels' fixed pool of worker threads: `run` splits a loop across the caller and the
/// workers without allocating (measured: `DispatchQueue.concurrentPerform` cost a heap
/// allocation per call for its closure context, ~1,100 allocations per decoded token).
///
/// One job at a time: a caller that finds the pool busy (another model's request, or a nested
/// call from inside a job) runs its loop on its own thread instead of waiting. Every worker
/// acknowledges every job before the caller returns, so no worker can still be inside a job
/// when the next one is posted. Workers spin briefly after a job (decode posts one every few
/// microseconds), then sleep on a condition variable; they live for the process, as OpenBLAS's do.
final class KernelThreads: @unchecked Sendable {
    // @unchecked: `body` and `iterations` are written only by the caller that holds `busy`,
    // before a release on `generation`, and read by workers after the matching acquire; the
    // caller clears them only after every worker has acknowledged. `workers` is touched only by
    // `busy` holders. The rest is atomic or under `lock`.
    static let shared = KernelThreads()

    private let busy = Atomic<Bool>(false)
    private let generation = Atomic<Int>(0)
    private let next = Atomic<Int>(0)
    private let acknowledged = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private var body: UnsafeRawPointer?          // -> the caller's `KernelLoop`, on its stack
    private var invoker: (any KernelLoop.Type)?
    private var iterations = 0
    private var workers = 0
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>

    private init() {
        lock = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wake, nil)
    }

    /// Runs `loop(i)` for `i` in `0..<count` on up to `threads` threads (the caller included).
    /// The loop is read in place from the caller's stack: nothing is allocated.
    func run<L: KernelLoop>(_ count: Int, threads: Int, _ loop: L) {
        if count <= 1 || threads <= 1 || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            for i in 0..<count { loop(i) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        if workers < threads - 1 { startWorkers(threads - 1) }
        let helpers = workers
        withUnsafePointer(to: loop) { pointer in
            body = UnsafeRawPointer(pointer)
            invoker = L.self
            iterations = count
            next.store(0, ordering: .relaxed)
            acknowledged.store(0, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(lock)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(lock)
            }
            Self.work(L.self, UnsafeRawPointer(pointer), count: count, next: next)
            while acknowledged.load(ordering: .acquiring) < helpers { ek_pause() }
            body = nil
            invoker = nil
        }
    }

    /// Runs a closure; converting it to an escapable value costs one small allocation, so hot
    /// kernels pass a `KernelLoop` struct instead.
    func run(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { run(count, threads: threads, ClosureLoop(body: $0)) }
    }

    /// Takes iterations until none are left.
    private static func work(_ type: any KernelLoop.Type, _ pointer: UnsafeRawPointer, count: Int, next: borrowing Atomic<Int>) {
        while true {
            let i = next.add(1, ordering: .relaxed).oldValue
            if i >= count { return }
            type.invoke(pointer, i)
        }
    }

    private func startWorkers(_ target: Int) {
        while workers < target {
            workers += 1
            let seen = generation.load(ordering: .acquiring)   // jobs after this one are the worker's
            let thread = Thread { [unowned self] in self.workerLoop(seen: seen) }
            thread.name = "earshot-kernels-\(workers)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func workerLoop(seen start: Int) {
        var seen = start
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins < 50_000 { ek_pause(); continue }
                pthread_mutex_lock(lock)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(wake, lock) }
                sleepers.subtract(1, ordering: .relaxed)
                pthread_mutex_unlock(lock)
            }
            seen += 1   // exactly one job per generation: the caller waits for every acknowledgement
            if let body, let invoker { Self.work(invoker, body, count: iterations, next: next) }
            acknowledged.add(1, ordering: .releasing)
        }
    }
}

/// A parallel loop body: a struct of the pointers and sizes one iteration needs, run by
/// `KernelThreads` in place (a closure would need a heap context to cross threads).
protocol KernelLoop {
    func callAsFunction(_ i: Int)
}

extension KernelLoop {
    static func invoke(_ pointer: UnsafeRawPointer, _ i: Int) {
        pointer.assumingMemoryBound(to: Self.self).pointee(i)
    }
}

/// A closure as a `KernelLoop` (for the paths that run once per request, not per token).
private struct ClosureLoop: KernelLoop {
    let body: (Int) -> Void
    func callAsFunction(_ i: Int) { body(i) }
}
