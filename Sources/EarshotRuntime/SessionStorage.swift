import EarshotModels
import EarshotTensor
import Synchronization

/// What both family sessions (`Qwen3ASRSession`, `WhisperSession`) hold besides their model: the
/// family's state, made on first use and remade only when a request needs a larger one; the
/// per-request arena (features, embeddings, encoder scratch); the cancellation flag. One place for
/// reset, close and the byte count.
final class SessionStorage<State: SessionState> {
    private var current: State?
    /// The state's mapped bytes, for status reports read on other threads while a request runs
    /// (reading `current` itself there raced its replacement; found by ThreadSanitizer).
    private let stateBytes = Atomic<Int>(0)
    /// Per-request buffers, reused across requests.
    let arena = ScratchArena(owner: .scratch)
    let cancel: CancelFlag

    init(cancel: CancelFlag) { self.cancel = cancel }

    /// The state, kept while `fits` accepts it, otherwise closed and replaced by `make()` (never
    /// per token: only when a request needs more than the last one).
    func state(fits: (State) -> Bool = { _ in true },
               make: () throws(ModelError) -> State) throws(RuntimeError) -> State {
        if let current, fits(current) { return current }
        current?.close()
        current = nil
        stateBytes.store(0, ordering: .relaxed)
        do {
            let s = try make()
            current = s
            stateBytes.store(s.mappedBytes, ordering: .relaxed)
            return s
        } catch {
            throw .model(error)
        }
    }

    /// Forgets decoded context, keeping every buffer.
    func reset() { current?.reset() }

    /// Releases the state and the arena now (the model stays loaded).
    func close() {
        current?.close()
        current = nil
        stateBytes.store(0, ordering: .relaxed)
        arena.close()
    }

    deinit { current?.close() }

    /// Bytes mapped by the state and the arena; safe from any thread.
    var mappedBytes: Int { stateBytes.load(ordering: .relaxed) + arena.mappedBytes }
}

extension TranscriptionResult {
    /// Fills the totals every family reports the same way: whole-request time, real-time factor,
    /// and decode speed over the tokens after the first.
    mutating func finishTimings(since start: ContinuousClock.Instant, clock: ContinuousClock) {
        let total = (clock.now - start).milliseconds
        if tokenIDs.count > 1, timings.decodeMs > 0 {
            timings.tokensPerSecond = Double(tokenIDs.count - 1) / (timings.decodeMs / 1000)
        }
        timings.totalMs = total
        timings.rtf = audioSeconds > 0 ? total / 1000 / audioSeconds : 0
    }
}
