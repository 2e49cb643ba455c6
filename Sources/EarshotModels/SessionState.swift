/// What every family's per-session state (`Qwen3ASRState`, `WhisperState`) offers its session:
/// KV cache and scratch in page buffers, forgotten by `reset()`, unmapped by `close()`.
public protocol SessionState: AnyObject, Sendable {
    /// Bytes the state maps now (cache and scratch).
    var mappedBytes: Int { get }
    /// Forgets the cached tokens; every mapping stays for reuse.
    func reset()
    /// Unmaps the state's buffers now; the state must not be used afterwards.
    func close()
}

extension Qwen3ASRState: SessionState {}
extension WhisperState: SessionState {}
