import Synchronization

/// A session's reusable scratch: one anonymous mapping that grows to the largest request seen and
/// is then reused by every later request, so a session in steady state maps nothing per request.
///
/// Growth rounds up (to 1 MiB, and at least 1.5x the previous size) so a stream of slightly longer
/// requests does not remap each time. Untouched pages of the mapping cost no memory. Used by one
/// task at a time (its session); pointers are valid until the next `reserve` or `close`.
/// `mappedBytes` alone may be read from any thread (status reports read it while a request runs;
/// ThreadSanitizer caught the plain read racing `reserve`), so it is an atomic copy.
public final class ScratchArena {
    public let owner: MemoryOwner
    private var buffer: PageBuffer?
    private let mapped = Atomic<Int>(0)
    /// How many times the arena has (re)mapped: stays constant in steady state.
    public private(set) var mappings = 0

    public init(owner: MemoryOwner = .scratch) { self.owner = owner }

    /// At least `floats` floats of scratch (contents unspecified).
    public func reserve(floats: Int) throws(TensorError) -> UnsafeMutablePointer<Float> {
        let bytes = max(floats, 1) * MemoryLayout<Float>.stride
        if let b = buffer, b.byteCount >= bytes { return b.floats() }
        let previous = buffer?.byteCount ?? 0
        close()
        let mib = 1 << 20
        let size = (max(bytes, previous + previous / 2) + mib - 1) / mib * mib
        let b = try PageBuffer(byteCount: size, owner: owner)
        buffer = b
        mapped.store(b.mappedBytes, ordering: .relaxed)
        mappings += 1
        return b.floats()
    }

    /// Gives the pages back to the kernel, keeping the mapping (next use faults in zero pages).
    public func releasePages() { buffer?.discardPages() }

    /// Unmaps now. The arena can still be used afterwards (it maps again).
    public func close() {
        buffer?.close()
        buffer = nil
        mapped.store(0, ordering: .relaxed)
    }

    public var mappedBytes: Int { mapped.load(ordering: .relaxed) }

    deinit { buffer?.close() }
}

/// Carves one scratch allocation into 64-byte-aligned float regions.
public struct ScratchLayout: Sendable {
    public private(set) var floats = 0
    public init() {}
    /// Reserves `count` floats; returns their offset.
    public mutating func add(_ count: Int) -> Int {
        let offset = floats
        floats += (max(count, 0) + 15) / 16 * 16
        return offset
    }
}
