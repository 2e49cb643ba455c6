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
/// Iterations are claimed, not assigned: the caller and every awake worker take iterations from one
/// atomic word holding the job's generation, its iteration count and the next index, and the caller
/// returns once every iteration is done. A worker that is asleep or descheduled (another process on
/// a busy machine) simply claims nothing, and the caller does its share instead of waiting for it
/// (measured before this: Whisper decoding at 2 threads 4-5x slower than at 1 on a machine with
/// another busy process). A worker reads the job's body only after claiming an iteration of that
/// job, and the job cannot finish (so its body stays valid) until that iteration is done.
///
/// One job at a time: a caller that finds the pool busy (another model's request, or a nested
/// call from inside a job) runs its loop on its own thread instead of waiting. Workers spin
/// briefly after a job (decode posts one every few microseconds), then sleep on a condition
/// variable; they live for the process, as OpenBLAS's do.
final class KernelThreads: @unchecked Sendable {
    // @unchecked: `body` and `invoker` are written only by the caller that holds `busy`, before the
    // release store of `claim` that publishes the job, and read by a worker only after it claimed an
    // iteration of that job (an acquiring compare-exchange on `claim`); the caller clears them only
    // after every iteration completed. `workers` is touched only by `busy` holders. The rest is
    // atomic or under `lock`.
    static let shared = KernelThreads()

    private let busy = Atomic<Bool>(false)
    /// Bumped per job; wakes the workers.
    private let generation = Atomic<Int>(0)
    /// generation (bits 32...) | iteration count (bits 16..<32) | next index (bits 0..<16).
    private let claim = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private var body: UnsafeRawPointer?          // -> the caller's `KernelLoop`, on its stack
    private var invoker: (any KernelLoop.Type)?
    private var workers = 0
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    /// Iteration counts above this run on the caller alone (the claim word has 16 bits for them).
    static let maxIterations = 0xFFFF

    private init() {
        lock = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wake, nil)
    }

    /// Runs `loop(i)` for `i` in `0..<count` on up to `threads` threads (the caller included).
    /// The loop is read in place from the caller's stack: nothing is allocated.
    func run<L: KernelLoop>(_ count: Int, threads: Int, _ loop: L) {
        if count <= 1 || threads <= 1 || count > Self.maxIterations
            || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            for i in 0..<count { loop(i) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        if workers < threads - 1 { startWorkers(threads - 1) }
        withUnsafePointer(to: loop) { pointer in
            body = UnsafeRawPointer(pointer)
            invoker = L.self
            completed.store(0, ordering: .relaxed)
            let job = generation.load(ordering: .relaxed) + 1
            claim.store(job << 32 | count << 16, ordering: .releasing)
            generation.store(job, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(lock)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(lock)
            }
            while let i = claimNext(job: job) {
                loop(i)
                completed.add(1, ordering: .releasing)
            }
            while completed.load(ordering: .acquiring) < count { ek_pause() }
            body = nil
            invoker = nil
        }
    }

    /// Runs a closure; converting it to an escapable value costs one small allocation, so hot
    /// kernels pass a `KernelLoop` struct instead.
    func run(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { run(count, threads: threads, ClosureLoop(body: $0)) }
    }

    /// Claims the next iteration of `job`, or nil when it has none left (or is no longer current).
    @inline(__always)
    private func claimNext(job: Int) -> Int? {
        var word = claim.load(ordering: .acquiring)
        while true {
            let index = word & 0xFFFF, count = (word >> 16) & 0xFFFF
            if word >> 32 != job || index >= count { return nil }
            let (exchanged, current) = claim.compareExchange(expected: word, desired: word + 1, ordering: .acquiringAndReleasing)
            if exchanged { return index }
            word = current
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
            // Jobs this worker slept through are over; only the current one can be claimed from.
            seen = generation.load(ordering: .acquiring)
            while let i = claimNext(job: seen) {
                // Claimed: the job is current until this iteration completes, so its body is valid.
                if let body, let invoker { invoker.invoke(body, i) }
                completed.add(1, ordering: .releasing)
            }
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
