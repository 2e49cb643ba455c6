#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tensor the writer will write: name, row-major shape (outermost first, as `GGUFTensorInfo`
/// reports it; the file stores it reversed) and ggml type.
public struct GGUFTensorDeclaration: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let type: GGMLType
    public init(name: String, shape: [Int], type: GGMLType) {
        self.name = name
        self.shape = shape
        self.type = type
    }
}

/// Writes a GGUF v3 file, streaming.
///
/// Metadata and tensor declarations are given up front, so every data offset is known before the
/// first byte is written; the header goes out at once, then the caller hands over each tensor's
/// bytes in declared order — from its own memory (`append`, `writeTensor(named:bytes:)`) or filled
/// in place into the writer's fixed-size buffer (`writeTensor(named:fill:)`). Nothing is held
/// beyond that buffer, so a model of any size is written in constant memory.
///
/// The file is written under a temporary name in the destination directory and renamed into
/// place by `finish()`, so readers never see a partial file. On any error — and if the writer is
/// dropped unfinished — the temporary file is removed.
public final class GGUFWriter {
    /// Tensor names longer than this are refused: ggml (`GGML_MAX_NAME` = 64 with terminator)
    /// cannot load them, and a GGUF file that llama.cpp cannot read is of little use.
    public static let maxTensorNameBytes = 63
    public static let bufferBytes = 1 << 20

    public let path: String
    public let alignment: Int
    public let tensors: [GGUFTensorDeclaration]
    /// Byte count of each tensor's data, in declared order.
    public let byteCounts: [Int]
    private let tempPath: String
    private var sink: GGUFSink?   // nil once finished or failed
    private var next = 0          // index of the tensor being written
    private var received = 0      // bytes of it received so far

    /// Creates the temporary file and writes the header. `metadata` is written in the order given.
    public init(path: String, metadata: [(key: String, value: GGUFValue)], tensors: [GGUFTensorDeclaration],
                alignment: Int = GGUFFile.defaultAlignment) throws(GGUFError) {
        self.path = path
        self.tensors = tensors
        self.alignment = alignment
        let entries = try Self.validate(metadata: metadata, alignment: alignment, path: path)
        var counts: [Int] = []
        var offsets: [Int] = []
        var end = 0
        var seen = Set<String>()
        for t in tensors {
            guard seen.insert(t.name).inserted else { throw .duplicateTensor(path: path, name: t.name) }
            let bytes = try Self.validate(t, path: path)
            // Each tensor starts at the next aligned offset (overflow is reported, not trapped).
            guard case (let padded, false) = end.addingReportingOverflow(alignment - 1),
                  case (let next, false) = (padded / alignment * alignment).addingReportingOverflow(bytes) else {
                throw .badDimensions(path: path, tensor: t.name, reason: "data offsets overflow")
            }
            offsets.append(padded / alignment * alignment)
            counts.append(bytes)
            end = next
        }
        byteCounts = counts

        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        Self.removeStaleTemporaries(dir: dir, base: base)
        tempPath = "\(dir).\(base).tmp-\(getpid())-\(UInt32.random(in: .min ... .max))"
        let fd = createFile(tempPath)
        guard fd >= 0 else { throw .writeFailed(path: path, reason: "cannot create \(tempPath): \(String(cString: strerror(errno)))") }
        do throws(GGUFError) {
            let s = try GGUFSink(fd: fd, path: path, capacity: Self.bufferBytes)
            try s.put(contentsOf: GGUFFile.magic)
            try s.put(UInt32(3))
            try s.put(UInt64(tensors.count))
            try s.put(UInt64(entries.count))
            for (key, value) in entries {
                try s.put(string: key)
                try s.put(value.type.rawValue)
                try s.put(value: value)
            }
            for (t, offset) in zip(tensors, offsets) {
                try s.put(string: t.name)
                try s.put(UInt32(t.shape.count))
                for d in t.shape.reversed() { try s.put(UInt64(d)) }
                try s.put(t.type.rawValue)
                try s.put(UInt64(offset))
            }
            try s.pad(to: alignment)
            sink = s
        } catch {
            closeFile(fd)
            unlink(tempPath)
            throw error
        }
    }

    /// Metadata from a dictionary, written in sorted key order (deterministic files).
    public convenience init(path: String, metadata: [String: GGUFValue], tensors: [GGUFTensorDeclaration],
                            alignment: Int = GGUFFile.defaultAlignment) throws(GGUFError) {
        try self.init(path: path, metadata: metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                      tensors: tensors, alignment: alignment)
    }

    /// The next tensor to be written, nil when all have been.
    public var nextTensor: GGUFTensorDeclaration? { next < tensors.count ? tensors[next] : nil }

    /// Appends bytes of the current tensor. A tensor may be given in any number of pieces; the
    /// writer moves to the next one when the current one has all its bytes.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(GGUFError) {
        try guarded { (s) throws(GGUFError) in
            guard next < tensors.count else {
                throw .sizeMismatch(path: path, tensor: "(none left)", expectedBytes: 0, actualBytes: bytes.count)
            }
            let need = byteCounts[next] - received
            guard bytes.count <= need else {
                throw .sizeMismatch(path: path, tensor: tensors[next].name, expectedBytes: byteCounts[next],
                                    actualBytes: received + bytes.count)
            }
            try s.put(bytes)
            received += bytes.count
            try completeIfDone(s)
        }
    }

    /// Writes the whole of tensor `name`, which must be the next declared one.
    public func writeTensor(named name: String, bytes: UnsafeRawBufferPointer) throws(GGUFError) {
        try expectStart(of: name)
        guard bytes.count == byteCounts[next] else {
            fail()
            throw .sizeMismatch(path: path, tensor: name, expectedBytes: byteCounts[next], actualBytes: bytes.count)
        }
        try append(bytes)
    }

    /// Writes tensor `name` (the next declared one) by letting `fill` write its bytes in place,
    /// one zeroed chunk of at most `bufferBytes` at a time; `fill` also receives the chunk's
    /// offset within the tensor. Throws `GGUFError`, or whatever `fill` throws (the temporary file
    /// is removed either way).
    public func writeTensor(named name: String, fill: (UnsafeMutableRawBufferPointer, Int) throws -> Void) throws {
        try expectStart(of: name)
        guard let s = sink else { throw failedEarlier() }
        do {
            try s.flush()
            let total = byteCounts[next]
            while received < total {
                let n = min(s.capacity, total - received)
                let chunk = UnsafeMutableRawBufferPointer(start: s.buffer.raw, count: n)
                chunk.initializeMemory(as: UInt8.self, repeating: 0)
                try fill(chunk, received)
                try s.commitBuffer(n)
                received += n
            }
            try completeIfDone(s)
        } catch {
            fail()
            throw error
        }
    }

    /// Checks every tensor was written in full, then moves the file into place.
    public func finish() throws(GGUFError) {
        try guarded { (s) throws(GGUFError) in
            guard next == tensors.count else {
                throw .sizeMismatch(path: path, tensor: tensors[next].name, expectedBytes: byteCounts[next], actualBytes: received)
            }
            try s.flush()
            guard fsync(s.fd) == 0 else { throw .writeFailed(path: path, reason: String(cString: strerror(errno))) }
        }
        guard let fd = sink?.fd else { throw failedEarlier() }
        sink = nil
        guard closeFile(fd) == 0, rename(tempPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tempPath)
            throw .writeFailed(path: path, reason: reason)
        }
        // The rename is durable once the directory is synced: after a power loss the destination
        // is either the whole new file or what was there before, never a truncated file.
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? "."
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            closeFile(dfd)
        }
    }

    /// Abandons the file: closes and removes the temporary file. Idempotent.
    public func cancel() { fail() }

    deinit { fail() }

    /// Writes all of `tensors` with one `fill` call per chunk, as `writeTensor(named:fill:)`.
    public static func write(path: String, metadata: [(key: String, value: GGUFValue)], tensors: [GGUFTensorDeclaration],
                             alignment: Int = GGUFFile.defaultAlignment,
                             fill: (GGUFTensorDeclaration, UnsafeMutableRawBufferPointer, Int) throws -> Void) throws {
        let w = try GGUFWriter(path: path, metadata: metadata, tensors: tensors, alignment: alignment)
        for t in tensors { try w.writeTensor(named: t.name) { try fill(t, $0, $1) } }
        try w.finish()
    }

    /// Removes `.<base>.tmp-<pid>-<n>` files left in `dir` by writers of the same destination that
    /// were killed (`kill -9`, power loss) before they could clean up: only those whose process no
    /// longer exists, so a convert running concurrently keeps its file.
    static func removeStaleTemporaries(dir: String, base: String) {
        guard let d = opendir(dir.isEmpty ? "." : dir) else { return }
        defer { closedir(d) }
        let prefix = ".\(base).tmp-"
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix(prefix), let pid = name.dropFirst(prefix.count).split(separator: "-").first.flatMap({ Int32($0) }),
                  pid > 0, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(dir + name)
        }
    }

    // MARK: - State

    /// Runs `body` on the open sink; any error leaves the writer failed and the temp file removed.
    private func guarded(_ body: (GGUFSink) throws(GGUFError) -> Void) throws(GGUFError) {
        guard let s = sink else { throw failedEarlier() }
        do throws(GGUFError) {
            try body(s)
        } catch {
            fail()
            throw error
        }
    }

    private func failedEarlier() -> GGUFError {
        .writeFailed(path: path, reason: "the writer has already finished or failed")
    }

    private func expectStart(of name: String) throws(GGUFError) {
        guard sink != nil else { throw failedEarlier() }
        guard next < tensors.count, received == 0, tensors[next].name == name else {
            let expected = next < tensors.count ? tensors[next].name : "(none left)"
            fail()
            throw .outOfOrder(path: path, expected: expected, actual: name)
        }
    }

    /// After the last byte of a tensor: pad to the alignment and move on.
    private func completeIfDone(_ s: GGUFSink) throws(GGUFError) {
        guard next < tensors.count, received == byteCounts[next] else { return }
        try s.pad(to: alignment)
        next += 1
        received = 0
    }

    private func fail() {
        guard let fd = sink?.fd else { return }
        sink = nil
        closeFile(fd)
        unlink(tempPath)
    }
}

@discardableResult private func closeFile(_ fd: Int32) -> Int32 { close(fd) }
private func createFile(_ path: String) -> Int32 { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
