import Foundation
import Synchronization

/// A fixed set of long-lived threads that run transcriptions.
///
/// Why not Dispatch's global pool: it creates and retires threads as load varies, and every new
/// thread that calls BLAS gets its own OpenBLAS work buffer (and malloc arena, and stack), whose
/// touched pages then stay resident. Measured at true size, that let a process's anonymous memory
/// creep up by tens of MB during warm-up depending on scheduling. A fixed pool makes the set of
/// threads — and so that memory — constant: the first requests warm it up, later ones reuse it.
/// Jobs beyond the thread count wait in FIFO order.
public final class InferenceThreads: Sendable {
    private struct Queue {
        var jobs: [@Sendable () -> Void] = []
        var head = 0
    }
    private let queue = Mutex(Queue())
    private let signal = NSCondition()
    public let count: Int

    /// One pool per process is the point; the manager uses this one by default.
    public static let shared = InferenceThreads(count: max(2, ProcessInfo.processInfo.activeProcessorCount))

    init(count: Int) {
        self.count = max(1, count)
        for i in 0..<self.count {
            let thread = Thread { [self] in self.work() }
            thread.name = "earshot-inference-\(i)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Runs `body` on one of the pool's threads and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let job = OneShot(body)
            submit {
                let result = job.take()()
                continuation.resume(returning: result)
            }
        }
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        signal.lock()
        queue.withLock { $0.jobs.append(job) }
        signal.signal()
        signal.unlock()
    }

    private func work() {
        while true {
            signal.lock()
            var job: (@Sendable () -> Void)?
            while job == nil {
                job = queue.withLock { q -> (@Sendable () -> Void)? in
                    guard q.head < q.jobs.count else {
                        q.jobs.removeAll(keepingCapacity: true)
                        q.head = 0
                        return nil
                    }
                    defer { q.head += 1 }
                    return q.jobs[q.head]
                }
                if job == nil { signal.wait() }
            }
            signal.unlock()
            job!()
        }
    }
}

/// Holds a closure until it is taken once, so what it captured (a session, a model) is released
/// by the worker *before* the caller resumes, not whenever the job's storage happens to go away.
/// `@unchecked Sendable`: `take()` is called exactly once, by the one thread that runs the job.
final class OneShot<T>: @unchecked Sendable {
    private var body: (@Sendable () -> T)?
    init(_ body: @escaping @Sendable () -> T) { self.body = body }
    func take() -> @Sendable () -> T {
        let b = body!
        body = nil
        return b
    }
}
