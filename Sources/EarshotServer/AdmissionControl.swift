/// Bounds the work the server takes on: at most `maxRunning` transcriptions at once and at most
/// `maxWaiting` more queued (first come, first served); beyond that a request is refused at once
/// (429) rather than piling up memory and latency. A waiter whose task is cancelled (timeout,
/// client gone) leaves the queue.
actor AdmissionControl {
    let maxRunning: Int
    let maxWaiting: Int
    private(set) var running = 0
    private var waiters: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
    private var nextID = 0

    init(maxRunning: Int, maxWaiting: Int) {
        self.maxRunning = max(1, maxRunning)
        self.maxWaiting = max(0, maxWaiting)
    }

    /// Requests waiting for a slot.
    var queueDepth: Int { waiters.count }

    /// Takes a slot, waiting in line if all are busy. Throws `queueFull` when the line is full and
    /// `CancellationError` if the task is cancelled while waiting.
    func acquire() async throws -> Slot {
        if running < maxRunning && waiters.isEmpty {
            running += 1
            return Slot(owner: self)
        }
        guard waiters.count < maxWaiting else { throw APIError.queueFull(retryAfterSeconds: 1) }
        let id = nextID
        nextID += 1
        let admitted = await withTaskCancellationHandler {
            await withCheckedContinuation { waiters.append((id, $0)) }
        } onCancel: {
            Task { await self.abandon(id) }
        }
        guard admitted else { throw CancellationError() }
        return Slot(owner: self)
    }

    /// Hands a freed slot to the first waiter, if any.
    fileprivate func release() {
        if waiters.isEmpty {
            running -= 1
        } else {
            waiters.removeFirst().continuation.resume(returning: true)   // the slot passes on; `running` is unchanged
        }
    }

    private func abandon(_ id: Int) {
        guard let i = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: i).continuation.resume(returning: false)
    }
}

/// One admitted request. The slot is given back when the last reference goes, so a streaming
/// response that keeps it in its body closure holds it exactly as long as the body lives, even if
/// the connection dies before the body is written.
final class Slot: Sendable {
    private let owner: AdmissionControl
    fileprivate init(owner: AdmissionControl) { self.owner = owner }
    deinit {
        let owner = owner
        Task { await owner.release() }
    }
}
