#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CEarshotMemory
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
    /// The file this buffer was loaded from (mapped or copied; nil for anonymous buffers), as it
    /// was then: what `fileChange()` compares the file on disk with.
    public let source: FileIdentity?
    private let open = Mutex<Bool>(true)

    /// A file's identity and state when it was loaded.
    public struct FileIdentity: Sendable, Equatable {
        public let path: String
        public let device: UInt64
        public let inode: UInt64
        public let size: Int
        /// Modification time in nanoseconds since the epoch.
        public let modified: Int

        init(path: String, _ st: stat) {
            self.path = path
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int(st.st_size)
            #if os(Linux)
            modified = Int(st.st_mtim.tv_sec) &* 1_000_000_000 &+ Int(st.st_mtim.tv_nsec)
            #else
            modified = Int(st.st_mtimespec.tv_sec) &* 1_000_000_000 &+ Int(st.st_mtimespec.tv_nsec)
            #endif
        }
    }

    /// How files are loaded (process-wide; read when a file is opened, so it applies to loads
    /// started after it is set).
    public enum FileLoading: Sendable {
        /// Mapped read-only and shared with the page cache (default: zero copies). A file that is
        /// truncated in place while mapped makes reading its lost pages raise SIGBUS; see
        /// `fileChange()` for the check made before use.
        case map
        /// Read into anonymous pages at load (the safe mode): changing or truncating the file
        /// afterwards cannot affect the model, at the cost of RAM equal to the file (no page sharing).
        case copy
    }
    /// `EARSHOT_LOAD_WEIGHTS=copy` in the environment starts the process in the safe mode, so the
    /// CLI, the server, the C ABI and Python get it without an option of their own.
    private static let loading = Mutex(getenv("EARSHOT_LOAD_WEIGHTS").map { String(cString: $0) } == "copy"
                                       ? FileLoading.copy : .map)
    public static var fileLoading: FileLoading {
        get { loading.withLock { $0 } }
        set { loading.withLock { $0 = newValue } }
    }

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
        source = nil
        MemoryCounters.add(bytes: mapped, fileBacked: false, owner: owner)
    }

    /// Takes over a mapping made elsewhere in this file (`grown(to:)`); it is already counted.
    private init(adopting p: UnsafeMutableRawPointer, byteCount: Int, mappedBytes: Int, owner: MemoryOwner) {
        raw = p
        self.byteCount = byteCount
        self.mappedBytes = mappedBytes
        fileBacked = false
        self.owner = owner
        source = nil
    }

    /// This anonymous buffer's contents in a buffer of `newByteCount` bytes (the new tail zeroed);
    /// `self` is closed. On Linux the kernel moves the pages (`mremap`): nothing is copied and the
    /// resident peak stays at the contents, where a copy would briefly hold them twice. Elsewhere,
    /// a new mapping and a copy. Only the sole owner of the buffer may call this.
    public func grown(to newByteCount: Int) throws(TensorError) -> PageBuffer {
        precondition(!fileBacked && source == nil && isOpen, "grown(to:) is for open anonymous buffers")
        guard newByteCount > byteCount else { return self }
        let mapped = PageBuffer.roundUp(newByteCount)
        if let p = earshot_remap_anonymous(raw, mappedBytes, mapped) {
            open.withLock { $0 = false }   // the old address range now belongs to the new buffer
            MemoryCounters.remove(bytes: mappedBytes, fileBacked: false, owner: owner)
            MemoryCounters.add(bytes: mapped, fileBacked: false, owner: owner)
            return PageBuffer(adopting: p, byteCount: newByteCount, mappedBytes: mapped, owner: owner)
        }
        let bigger = try PageBuffer(byteCount: newByteCount, owner: owner)
        bigger.raw.copyMemory(from: raw, byteCount: byteCount)
        close()
        return bigger
    }

    /// Maps a whole file read-only (shared, so the page cache is used in place: zero copies).
    public convenience init(mappingFile path: String, owner: MemoryOwner = .weights) throws(TensorError) {
        try self.init(mappingFileAt: Array(path.utf8CString), named: path, owner: owner)
    }

    /// As `init(mappingFile:)`, for a path given as the exact bytes of a C string (NUL-terminated):
    /// a Linux file name need not be UTF-8, and `String` would repair it into another name.
    /// `path` is how messages show it. Opened non-blocking, so a FIFO cannot stall the open; it is
    /// then refused, as is anything else that is not a regular file.
    public init(mappingFileAt pathBytes: [CChar], named path: String, owner: MemoryOwner = .weights) throws(TensorError) {
        precondition(pathBytes.last == 0, "pathBytes must be NUL-terminated")
        let fd = open_readonly(pathBytes)
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
        let identity = FileIdentity(path: path, st)
        let copy = PageBuffer.fileLoading == .copy
        let p = copy ? mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                     : mmap(nil, mapped, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else {
            // ENOMEM here is the address space or memory refused (RLIMIT_AS, overcommit): a typed error.
            throw .mapFailed(path: path, reason: String(cString: strerror(errno)))
        }
        if copy {
            var done = 0
            while done < size {
                let n = read(fd, p + done, size - done)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    let reason = n == 0 ? "file shrank while being read" : String(cString: strerror(errno))
                    munmap(p, mapped)
                    throw .mapFailed(path: path, reason: reason)
                }
                done += n
            }
        }
        raw = p
        byteCount = size
        mappedBytes = mapped
        fileBacked = !copy
        self.owner = owner
        source = identity
        MemoryCounters.add(bytes: mapped, fileBacked: !copy, owner: owner)
    }

    /// Whether the file this buffer maps was changed in place since it was mapped, and how (nil:
    /// unchanged, replaced by another file, or copied at load — all safe to read).
    ///
    /// A mapped file truncated in place makes reading the lost pages raise SIGBUS, which no Swift
    /// code can catch; a file rewritten in place changes the weights under the model. Both keep the
    /// inode, so they show here as the same inode with another size or modification time. A file
    /// replaced by rename (how `earshot convert` and most tools write) leaves this mapping on the
    /// old inode, intact. The check is a `stat` (microseconds): callers make it before each use;
    /// a truncation *during* a use cannot be caught this way — `FileLoading.copy` is the safe mode.
    public func fileChange() -> String? {
        guard fileBacked, isOpen, let source else { return nil }
        var st = stat()
        guard stat(source.path, &st) == 0 else { return nil }   // removed: the mapping keeps the inode alive
        let now = FileIdentity(path: source.path, st)
        guard now.device == source.device, now.inode == source.inode else { return nil }
        if now.size < source.size { return "\(source.path) shrank from \(source.size) to \(now.size) bytes while mapped" }
        if now != source { return "\(source.path) was modified in place while mapped" }
        return nil
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
private func open_readonly(_ path: [CChar]) -> Int32 { open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
private func close_fd(_ fd: Int32) { _ = close(fd) }
