#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The byte output of `GGUFWriter`: little-endian encoding of GGUF primitives into a fixed-size
/// page-aligned buffer, flushed to a file descriptor with POSIX `write`.
///
/// The buffer is a `PageBuffer` (counted under `.scratch`) of a modest fixed size, so writing a
/// multi-gigabyte model costs the same memory as writing a tiny one. Large blocks bypass it.
/// A class so the writer can hold it optionally (nil once finished) and it can unmap in `deinit`.
final class GGUFSink {
    let fd: Int32
    let path: String
    let buffer: PageBuffer
    private var pending = 0
    /// Bytes accepted so far (written or pending): the file offset of the next byte.
    private(set) var position = 0

    init(fd: Int32, path: String, capacity: Int) throws(GGUFError) {
        self.fd = fd
        self.path = path
        do throws(TensorError) {
            buffer = try PageBuffer(byteCount: capacity, owner: .scratch)
        } catch {
            throw .writeFailed(path: path, reason: error.description)
        }
    }

    var capacity: Int { buffer.byteCount }

    func put(_ bytes: UnsafeRawBufferPointer) throws(GGUFError) {
        guard !bytes.isEmpty, let src = bytes.baseAddress else { return }
        if bytes.count > capacity - pending { try flush() }
        if bytes.count >= capacity {
            try writeAll(src, bytes.count)
        } else {
            (buffer.raw + pending).copyMemory(from: src, byteCount: bytes.count)
            pending += bytes.count
        }
        position += bytes.count
    }

    func put(contentsOf bytes: [UInt8]) throws(GGUFError) {
        // `withUnsafeBytes` only rethrows untyped errors, so the typed error travels in a Result.
        try bytes.withUnsafeBytes { b in Result { () throws(GGUFError) in try put(b) } }.get()
    }

    func put<T: FixedWidthInteger>(_ v: T) throws(GGUFError) {
        let size = MemoryLayout<T>.size
        if capacity - pending < size { try flush() }
        (buffer.raw + pending).storeBytes(of: v.littleEndian, as: T.self)   // unaligned stores are allowed
        pending += size
        position += size
    }

    /// A GGUF string: u64 byte length, then the UTF-8 bytes.
    func put(string s: String) throws(GGUFError) {
        var s = s
        try put(UInt64(s.utf8.count))
        try s.withUTF8 { b in Result { () throws(GGUFError) in try put(UnsafeRawBufferPointer(b)) } }.get()
    }

    /// A metadata value without its type tag (the caller writes that, as the format places it
    /// before the value for entries but once per array for elements).
    func put(value: GGUFValue) throws(GGUFError) {
        switch value {
        case .uint8(let v): try put(v)
        case .int8(let v): try put(v)
        case .uint16(let v): try put(v)
        case .int16(let v): try put(v)
        case .uint32(let v): try put(v)
        case .int32(let v): try put(v)
        case .uint64(let v): try put(v)
        case .int64(let v): try put(v)
        case .float32(let v): try put(v.bitPattern)
        case .float64(let v): try put(v.bitPattern)
        case .bool(let v): try put(UInt8(v ? 1 : 0))
        case .string(let s): try put(string: s)
        case .array(let type, let elements):
            try put(type.rawValue)
            try put(UInt64(elements.count))
            for e in elements { try put(value: e) }
        }
    }

    /// Zero bytes up to the next multiple of `alignment`.
    func pad(to alignment: Int) throws(GGUFError) {
        let n = (alignment - position % alignment) % alignment
        guard n > 0 else { return }
        let zeros = [UInt8](repeating: 0, count: n)
        try put(contentsOf: zeros)
    }

    /// Writes out the pending bytes.
    func flush() throws(GGUFError) {
        guard pending > 0 else { return }
        try writeAll(UnsafeRawPointer(buffer.raw), pending)
        pending = 0
    }

    /// Writes bytes the caller put at the start of `buffer` (after a `flush`): the zero-copy path
    /// for tensor data filled in place.
    func commitBuffer(_ count: Int) throws(GGUFError) {
        precondition(pending == 0 && count <= capacity, "commitBuffer needs an empty sink")
        try writeAll(UnsafeRawPointer(buffer.raw), count)
        position += count
    }

    /// POSIX `write` until done: it may write less than asked, or be interrupted by a signal.
    private func writeAll(_ p: UnsafeRawPointer, _ count: Int) throws(GGUFError) {
        var done = 0
        while done < count {
            let n = posixWrite(fd, p + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            // Zero bytes for a non-empty request would repeat forever; regular files never do it.
            guard n > 0 else { throw .writeFailed(path: path, reason: "write made no progress") }
            done += n
        }
    }

    deinit { buffer.close() }
}

private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
