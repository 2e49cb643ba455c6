import EarshotTensor
import Foundation

/// What loading a model is expected to cost in resident memory, computed from its files and
/// config without loading it, so a manager can refuse a load that would not fit *before* it maps
/// anything (instead of being OOM-killed half way).
public struct MemoryEstimate: Sendable, Codable, Equatable {
    /// Weights resident once every page has been touched (mapped files, or their f32 copies).
    public var weightBytes: Int
    /// Tokenizer tables and other per-model heap.
    public var overheadBytes: Int
    /// One session: KV cache for `sessionTokens` positions, activation scratch, audio arena.
    public var sessionBytes: Int

    /// Saturates at `Int.max` (which a manager reads as "cannot fit") instead of overflowing.
    public func total(sessions: Int) -> Int {
        Checked.sum(weightBytes, overheadBytes, Checked.product(max(sessions, 1), sessionBytes)) ?? .max
    }
}
