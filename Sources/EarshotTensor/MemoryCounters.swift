import Synchronization

/// Who a mapping belongs to, for the memory report's per-owner breakdown.
public enum MemoryOwner: String, Sendable, CaseIterable {
    case weights      // read-only mappings of checkpoint files, or converted weights
    case kvCache      // a session's key/value cache
    case scratch      // activations and per-session scratch
    case audio        // decoded samples and features
    case other
}

/// Process-wide counters of live mapped bytes, maintained by `PageBuffer`.
///
/// Every large buffer in Earshot is a `PageBuffer`, so these counters are the whole story of
/// where big memory lives: after a model is unloaded they must return to where they were.
public enum MemoryCounters {
    private struct Counts {
        var anonymous = 0
        var file = 0
        var buffers = 0
        var byOwner = [MemoryOwner: Int]()
    }
    // Updated once per mapping and unmapping (rare), read by reports and tests.
    private static let counts = Mutex(Counts())

    /// Bytes currently mapped anonymously (allocations) through `PageBuffer`.
    public static var anonymousBytes: Int { counts.withLock { $0.anonymous } }
    /// Bytes of files currently mapped through `PageBuffer`.
    public static var fileBytes: Int { counts.withLock { $0.file } }
    /// Number of live `PageBuffer` mappings.
    public static var liveBuffers: Int { counts.withLock { $0.buffers } }
    /// Live mapped bytes (anonymous + file) attributed to `owner`.
    public static func bytes(owner: MemoryOwner) -> Int {
        counts.withLock { $0.byOwner[owner, default: 0] }
    }

    static func add(bytes: Int, fileBacked: Bool, owner: MemoryOwner) {
        update(bytes: bytes, buffers: 1, fileBacked: fileBacked, owner: owner)
    }

    static func remove(bytes: Int, fileBacked: Bool, owner: MemoryOwner) {
        update(bytes: -bytes, buffers: -1, fileBacked: fileBacked, owner: owner)
    }

    private static func update(bytes: Int, buffers: Int, fileBacked: Bool, owner: MemoryOwner) {
        counts.withLock { c in
            if fileBacked { c.file += bytes } else { c.anonymous += bytes }
            c.byOwner[owner, default: 0] += bytes
            c.buffers += buffers
        }
    }
}
