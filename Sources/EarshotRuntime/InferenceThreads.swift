import Foundation

/// A fixed set of long-lived threads that run transcriptions.
///
/// Why not Dispatch's global pool: it creates and retires threads as load varies, and every new
/// thread that calls BLAS gets its own OpenBLAS work buffer (and malloc arena, and stack), whose
/// touched pages then stay resident. Measured at true size, that let a process's anonymous memory
/// creep up by tens of MB during warm-up depending on scheduling. A fixed pool makes the set of
/// threads — and so that memory — constant: the first requests warm it up, later ones reuse it.
/// Jobs beyond the thread count wait in FIFO order.
///
/// Jobs go to the *lowest-numbered idle* thread, so a process serving one request at a time uses
/// thread 0 only and never warms a second thread's buffers mid-run (measured: a second thread's
/// first BLAS call adds ~6 MB of resident buffers, whenever it happens).
///
/// `@unchecked Sendable`: all mutable state (`slots`, `busy`, `pending`) is guarded by `lock`.
public final class InferenceThreads: @unchecked Sendable {
    private let lock = NSCondition()
    private var slots: [(@Sendable () -> Void)?]
    private var busy: [Bool]
    private var pending: [@Sendable () -> Void] = []
    public let count: Int

    /// One pool per process is the point; the manager uses this one.
    public static let shared = InferenceThreads(count: max(2, ProcessInfo.processInfo.activeProcessorCount))

    init(count: Int) {
        self.count = max(1, count)
        slots = Array(repeating: nil, count: self.count)
        busy = Array(repeating: false, count: self.count)
        for i in 0..<self.count {
            let thread = Thread { [self] in self.work(i) }
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

    /// Queues `job` on the pool and returns at once: for callers that wait in their own way (the
    /// C ABI blocks its calling thread and relays streamed text back to it).
    public func start(_ job: @escaping @Sendable () -> Void) { submit(job) }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        lock.lock()
        if let i = busy.firstIndex(of: false) {
            busy[i] = true
            slots[i] = job
        } else {
            pending.append(job)
        }
        lock.broadcast()
        lock.unlock()
    }

    private func work(_ i: Int) {
        lock.lock()
        while true {
            if let job = slots[i] {
                slots[i] = nil
                lock.unlock()
                job()
                lock.lock()
                // Take queued work before going idle; otherwise become available (lowest first).
                if !pending.isEmpty {
                    slots[i] = pending.removeFirst()
                } else {
                    busy[i] = false
                }
            } else {
                lock.wait()
            }
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
