import EarshotModels
import EarshotRuntime
import Foundation
import Synchronization

/// A loaded model behind an `earshot_model` handle. Sessions hold it too, so the weights stay
/// mapped while any session of the model is alive, whatever order the caller frees things in.
final class NativeModel: Sendable {
    let model: LoadedModel
    let path: String

    init(model: LoadedModel, path: String) {
        self.model = model
        self.path = path
    }

    deinit {
        // The last reference: unmap the weights now, and hand freed heap (tokenizer tables,
        // config) back to the kernel rather than leave it in a malloc arena.
        model.close()
        MemoryReport.trimMalloc()
    }
}

/// A session behind an `earshot_session` handle: one transcription at a time (`busy`).
final class NativeSession: Sendable {
    let owner: NativeModel
    let runtimeSession: Session
    let busy = Atomic<Bool>(false)
    /// Set by a cancel (or free) while busy. The text relay lets decoding run ahead of the caller's
    /// callback, so a cancel can arrive after the work is done: the call still reports it.
    let cancelRequested = Atomic<Bool>(false)

    init(owner: NativeModel) throws(RuntimeError) {
        self.owner = owner
        runtimeSession = try Session(model: owner.model)
    }

    deinit { runtimeSession.close() }

    /// Marks the session busy, or fails if another thread has it.
    func claim(_ handle: UInt64, by function: String) throws(ABIError) {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw ABIError(.busy, "\(function): session \(handle) is transcribing on another thread; use one session per stream")
        }
        cancelRequested.store(false, ordering: .relaxed)
    }

    func release() { busy.store(false, ordering: .releasing) }

    /// Stops the transcription in flight, if any.
    func cancelIfBusy() {
        if busy.load(ordering: .acquiring) {
            cancelRequested.store(true, ordering: .relaxed)
            runtimeSession.cancel()
        }
    }

    /// True when a cancel arrived during the call now ending.
    var wasCancelled: Bool { cancelRequested.load(ordering: .relaxed) }
}

/// Every live handle and every string handed to the caller, behind one lock.
///
/// Handles are numbers from one counter that never repeats, so a freed or forged handle is found
/// missing instead of being dereferenced, and a model handle is never mistaken for a session's.
/// Nothing stays here after its free: the table is what the caller holds, no more.
final class Handles: Sendable {
    static let shared = Handles()

    private struct Table {
        var next: UInt64 = 1
        var models: [UInt64: NativeModel] = [:]
        var sessions: [UInt64: NativeSession] = [:]
        /// Addresses of the C strings returned and not yet freed.
        var strings: Set<UInt> = []
    }
    private let table = Mutex(Table())

    func add(_ model: NativeModel) -> UInt64 { insert(model, \.models) }
    func add(_ session: NativeSession) -> UInt64 { insert(session, \.sessions) }

    /// Files `value` under the next handle number (never one used before).
    private func insert<T: Sendable>(_ value: T, _ kind: any WritableKeyPath<Table, [UInt64: T]> & Sendable) -> UInt64 {
        table.withLock { t in
            let h = t.next
            t.next += 1
            t[keyPath: kind][h] = value
            return h
        }
    }

    func model(_ h: UInt64) throws(ABIError) -> NativeModel { try find(h, \.models, other: \.sessions, remove: false) }
    func session(_ h: UInt64) throws(ABIError) -> NativeSession { try find(h, \.sessions, other: \.models, remove: false) }

    /// Removes the handle and returns what it held, so the caller drops the last reference (and
    /// unmaps) outside the lock.
    func removeModel(_ h: UInt64) throws(ABIError) -> NativeModel { try find(h, \.models, other: \.sessions, remove: true) }
    func removeSession(_ h: UInt64) throws(ABIError) -> NativeSession { try find(h, \.sessions, other: \.models, remove: true) }

    private func find<T: Sendable, Other>(_ h: UInt64, _ kind: any WritableKeyPath<Table, [UInt64: T]> & Sendable,
                                          other: any KeyPath<Table, [UInt64: Other]> & Sendable,
                                          remove: Bool) throws(ABIError) -> T {
        let found = table.withLock { t in
            (remove ? t[keyPath: kind].removeValue(forKey: h) : t[keyPath: kind][h], t[keyPath: other][h] != nil)
        }
        if let value = found.0 { return value }
        let expected = T.self == NativeModel.self ? "model" : "session"
        if h == 0 { throw ABIError(.invalidHandle, "the \(expected) handle is 0 (never a valid handle)") }
        if found.1 {
            throw ABIError(.invalidHandle, "handle \(h) is a \(expected == "model" ? "session" : "model"), not a \(expected)")
        }
        throw ABIError(.invalidHandle, "\(expected) handle \(h) is not live (already freed, or never returned by Earshot)")
    }

    /// A malloc'ed copy of `s` the caller must give back to `freeString`.
    func string(_ s: String) -> UnsafeMutablePointer<CChar>? {
        guard let p = strdup(s) else { return nil }
        table.withLock { _ = $0.strings.insert(UInt(bitPattern: p)) }
        return p
    }

    func freeString(_ p: UnsafeMutablePointer<CChar>) throws(ABIError) {
        let known = table.withLock { $0.strings.remove(UInt(bitPattern: p)) != nil }
        guard known else {
            throw ABIError(.invalidHandle, "earshot_string_free: \(p) is not a string returned by Earshot, or was already freed")
        }
        free(p)
    }

    var counts: (models: Int, sessions: Int, strings: Int) {
        table.withLock { ($0.models.count, $0.sessions.count, $0.strings.count) }
    }
}
