#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The single owner of every large allocation in Earshot: an anonymous page-aligned `mmap`, or a
/// read-only shared mapping of a file.
///
/// Memory goes back to the kernel with `munmap` — deterministically, on `close()` or at the latest
/// in `deinit` — never to a malloc arena that might keep it. File mappings close their descriptor
/// right after mapping, so a loaded model holds no file descriptors.
///
/// `PageBuffer` is a reference type so several readers (sessions) can share one mapping. The
/// bytes are mutable through `raw` by design (they are scratch, caches and activations); the
/// only state `PageBuffer` itself mutates is the mapping's lifetime, guarded by a `Mutex`.
/// After `close()`, pointers previously taken from it are dangling: owners close buffers only when
/// no user is left (see `ModelManager`).
///
/// `@unchecked Sendable`: the stored properties are immutable (`raw` is a raw pointer, which Swift
/// does not consider Sendable) and the open/closed flag is behind a `Mutex`. The *contents* are
/// synchronised by their users: weights are read-only after load, and session buffers are used by
/// one task at a time.
public final class PageBuffer: @unchecked Sendable {
    /// Start of the mapping (page-aligned). Valid until `close()`.
    public let raw: UnsafeMutableRawPointer
    /// Usable bytes (what was asked for).
    public let byteCount: Int
    /// Mapped bytes (rounded up to whole pages).
    public let mappedBytes: Int
    public let fileBacked: Bool
    public let owner: MemoryOwner
    private let open = Mutex<Bool>(true)

    public static let pageSize: Int = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Maps `byteCount` zeroed bytes of anonymous memory.
    public init(byteCount: Int, owner: MemoryOwner) throws(TensorError) {
        guard byteCount >= 0 else { throw .allocationFailed(bytes: byteCount, reason: "negative size") }
        let mapped = PageBuffer.roundUp(max(byteCount, 1))
        let p = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else {
            throw .allocationFailed(bytes: byteCount, reason: String(cString: strerror(errno)))
        }
        raw = p
        self.byteCount = byteCount
        mappedBytes = mapped
        fileBacked = false
        self.owner = owner
        MemoryCounters.add(bytes: mapped, fileBacked: false, owner: owner)
    }

    /// Maps a whole file read-only (shared, so the page cache is used in place: zero copies).
    public init(mappingFile path: String, owner: MemoryOwner = .weights) throws(TensorError) {
        let fd = Glibc_open(path)
        guard fd >= 0 else {
            if errno == ENOENT { throw .fileNotFound(path: path) }
            throw .mapFailed(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close_fd(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .mapFailed(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .mapFailed(path: path, reason: "not a regular file") }
        let size = Int(st.st_size)
        let mapped = PageBuffer.roundUp(max(size, 1))
        let p = mmap(nil, mapped, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw .mapFailed(path: path, reason: String(cString: strerror(errno)))
        }
        raw = p
        byteCount = size
        mappedBytes = mapped
        fileBacked = true
        self.owner = owner
        MemoryCounters.add(bytes: mapped, fileBacked: true, owner: owner)
    }

    /// Unmaps now. Idempotent; `deinit` calls it too.
    public func close() {
        let wasOpen = open.withLock { isOpen -> Bool in
            defer { isOpen = false }
            return isOpen
        }
        guard wasOpen else { return }
        munmap(raw, mappedBytes)
        MemoryCounters.remove(bytes: mappedBytes, fileBacked: fileBacked, owner: owner)
    }

    public var isOpen: Bool { open.withLock { $0 } }

    deinit { close() }

    /// Typed views. The caller keeps `self` alive while using them.
    public func floats() -> UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }
    public var floatCount: Int { byteCount / MemoryLayout<Float>.stride }
    public func bytes() -> UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: raw, count: byteCount) }

    /// Gives the pages of an anonymous buffer back to the kernel while keeping the mapping
    /// (contents read as zero afterwards). Used to release scratch between requests.
    public func discardPages() {
        guard !fileBacked, isOpen else { return }
        _ = madvise(raw, mappedBytes, MADV_DONTNEED)
    }

    /// Drops the whole pages inside `[start, start + count)` of a read-only file mapping from this
    /// process's resident set (they are read again from the file if touched). Used after a
    /// load-time conversion has read a tensor it will never read again.
    public func releaseFilePages(_ start: UnsafeRawPointer, count: Int) {
        guard fileBacked, isOpen, count > 0 else { return }
        let base = Int(bitPattern: raw), lo = Int(bitPattern: start), hi = lo + count
        guard lo >= base, hi <= base + mappedBytes else { return }
        let first = Self.roundUp(lo), last = hi / Self.pageSize * Self.pageSize
        guard last > first else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: first), last - first, MADV_DONTNEED)
    }

    static func roundUp(_ n: Int) -> Int { (n + pageSize - 1) / pageSize * pageSize }
}

// Thin wrappers: `open`/`close` are shadowed by this type's members.
private func Glibc_open(_ path: String) -> Int32 { open(path, O_RDONLY | O_CLOEXEC) }
private func close_fd(_ fd: Int32) { _ = close(fd) }
