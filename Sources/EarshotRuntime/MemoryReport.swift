#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CEarshotMalloc
import EarshotTensor

/// A snapshot of the process's memory: what the kernel sees (RSS split into anonymous and file
/// pages, PSS, peak), what Earshot itself has mapped (by owner), the malloc heap, and open file
/// descriptors.
///
/// Reading it costs a few small `/proc` reads and no heap allocation beyond the report itself,
/// so it can be taken between every step of a benchmark without disturbing what it measures.
public struct MemoryReport: Sendable, Codable, Equatable {
    /// Resident set size (`VmRSS`).
    public var rssBytes = 0
    /// Resident anonymous pages (`RssAnon`): heap, stacks, anonymous mappings. This is what leaks.
    public var rssAnonBytes = 0
    /// Resident file-backed pages (`RssFile`): code and mapped weights (page cache, reclaimable).
    public var rssFileBytes = 0
    /// Proportional set size (`Pss` from `/proc/self/smaps_rollup`): shared pages divided among sharers.
    public var pssBytes = 0
    /// Peak resident set size (`VmHWM`).
    public var peakRSSBytes = 0
    /// Open file descriptors.
    public var openFileDescriptors = 0
    /// Live bytes mapped through `PageBuffer`, by owner.
    public var mappedByOwner = MappedBytes()
    /// Live anonymous / file-backed bytes mapped through `PageBuffer`.
    public var mappedAnonymousBytes = 0
    public var mappedFileBytes = 0
    /// malloc heap (`mallinfo2`): bytes obtained from the system, in use, and free but retained.
    public var mallocArenaBytes = 0
    public var mallocInUseBytes = 0
    public var mallocFreeBytes = 0

    public init() {}

    /// The current process's report.
    public static func current() -> MemoryReport {
        var r = MemoryReport()
        #if os(Linux)
        ProcStatus.read("/proc/self/status") { key, kB in
            switch key {
            case "VmRSS": r.rssBytes = kB * 1024
            case "RssAnon": r.rssAnonBytes = kB * 1024
            case "RssFile": r.rssFileBytes = kB * 1024
            case "VmHWM": r.peakRSSBytes = kB * 1024
            default: break
            }
        }
        ProcStatus.read("/proc/self/smaps_rollup") { key, kB in
            if key == "Pss" { r.pssBytes = kB * 1024 }
        }
        r.openFileDescriptors = countEntries("/proc/self/fd")
        let m = mallinfo2()
        r.mallocArenaBytes = Int(m.arena) + Int(m.hblkhd)
        r.mallocInUseBytes = Int(m.uordblks) + Int(m.hblkhd)
        r.mallocFreeBytes = Int(m.fordblks)
        #elseif canImport(Darwin)
        var info = mach_task_basic_info()
        var count = mach_msg_type_number_t(MemoryLayout<mach_task_basic_info>.size / MemoryLayout<natural_t>.size)
        let kr = withUnsafeMutablePointer(to: &info) {
            $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
                task_info(mach_task_self_, task_flavor_t(MACH_TASK_BASIC_INFO), $0, &count)
            }
        }
        if kr == KERN_SUCCESS {
            r.rssBytes = Int(info.resident_size)
            r.peakRSSBytes = Int(info.resident_size_max)
            r.pssBytes = r.rssBytes
        }
        r.openFileDescriptors = countEntries("/dev/fd")
        #endif
        for owner in MemoryOwner.allCases { r.mappedByOwner[owner] = MemoryCounters.bytes(owner: owner) }
        r.mappedAnonymousBytes = MemoryCounters.anonymousBytes
        r.mappedFileBytes = MemoryCounters.fileBytes
        return r
    }

    /// Memory the machine can give without swapping (`MemAvailable`), or nil where unknown.
    public static func availableSystemBytes() -> Int? {
        #if os(Linux)
        var available: Int?
        ProcStatus.read("/proc/meminfo") { key, kB in if key == "MemAvailable" { available = kB * 1024 } }
        return available
        #else
        return nil
        #endif
    }

    /// Caps the number of glibc malloc arenas (`mallopt(M_ARENA_MAX)`, Linux; a no-op elsewhere).
    /// glibc gives threads up to 8 arenas per core, and memory freed into one arena is not reused
    /// by another: with requests hopping between Dispatch, Swift-concurrency and inference threads,
    /// each arena grows to its own high-water mark. Measured on 2,000 micro restarts: +397 KB of
    /// anonymous RSS with the default, +61 KB with 2 arenas. Process-wide; affects arenas created
    /// after the call, so call it early.
    public static func limitMallocArenas(_ count: Int) {
        #if os(Linux)
        _ = mallopt(M_ARENA_MAX, Int32(max(1, count)))
        #endif
    }

    /// Fixes glibc's mmap threshold (`mallopt(M_MMAP_THRESHOLD)`, Linux; a no-op elsewhere).
    /// By default the threshold is dynamic: after the first large block is freed it rises to that
    /// block's size (up to 32 MB), and later blocks below it land in the heap, where freeing them
    /// leaves holes glibc keeps. Loading a tokenizer allocates 3-6 MB tables; measured on a
    /// 0.6B/tiny switch loop, the dynamic threshold grew the arena 28 -> 42 MB in 6 MB steps
    /// (+20 MB anonymous RSS). A fixed threshold keeps every large block on its own mapping,
    /// returned whole by `free`. Process-wide.
    public static func fixMallocMmapThreshold(_ bytes: Int) {
        #if os(Linux)
        _ = mallopt(M_MMAP_THRESHOLD, Int32(clamping: max(4096, bytes)))
        #endif
    }

    /// Returns freed malloc memory to the kernel (`malloc_trim(0)` on Linux; a no-op elsewhere).
    /// glibc keeps freed heap in its arenas; the runtime calls this after every unload so
    /// unloading a model gives the bytes back to the system, not just to malloc.
    @discardableResult
    public static func trimMalloc() -> Bool {
        #if os(Linux)
        return malloc_trim(0) != 0
        #else
        return false
        #endif
    }

    /// Entries of a directory, minus the descriptor used to list it (for `/proc/self/fd`).
    static func countEntries(_ path: String) -> Int {
        guard let dir = opendir(path) else { return 0 }
        var n = 0
        while let entry = readdir(dir) {
            let first = withUnsafeBytes(of: entry.pointee.d_name) { $0.first ?? 0 }
            if first != UInt8(ascii: ".") { n += 1 }
        }
        closedir(dir)
        return max(n - 1, 0)
    }
}

/// Live mapped bytes per `MemoryOwner`, as plain fields: a report taken every step of a
/// benchmark must not allocate (a dictionary per report would show up as heap growth).
public struct MappedBytes: Sendable, Codable, Equatable {
    public var weights = 0, kvCache = 0, scratch = 0, audio = 0, other = 0
    public init() {}

    public subscript(owner: MemoryOwner) -> Int {
        get {
            switch owner {
            case .weights: weights
            case .kvCache: kvCache
            case .scratch: scratch
            case .audio: audio
            case .other: other
            }
        }
        set {
            switch owner {
            case .weights: weights = newValue
            case .kvCache: kvCache = newValue
            case .scratch: scratch = newValue
            case .audio: audio = newValue
            case .other: other = newValue
            }
        }
    }
}

/// Parses `Key:   123 kB` lines from a `/proc` file into a fixed stack-sized buffer.
enum ProcStatus {
    static func read(_ path: String, _ body: (Substring, Int) -> Void) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { _ = close(fd) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8192) { buf in
            var used = 0
            while used < buf.count {
                let n = Glibc_read(fd, buf.baseAddress! + used, buf.count - used)
                if n <= 0 { break }
                used += n
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: buf[0..<used]), as: UTF8.self)
            for line in text.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let key = line[..<colon]
                let rest = line[line.index(after: colon)...].split { $0 == " " || $0 == "\t" }
                guard rest.count == 2, rest[1] == "kB", let v = Int(rest[0]) else { continue }
                body(key, v)
            }
        }
    }
}

private func Glibc_read(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }
