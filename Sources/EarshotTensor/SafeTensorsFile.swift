import Foundation

/// A zero-copy reader of one `.safetensors` file.
///
/// Layout: 8-byte little-endian header length N, N bytes of JSON
/// (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`), then the
/// data section; offsets are relative to its start. The whole file is mapped read-only and every
/// tensor is a view into the mapping. Validation is strict, because model files come from outside:
/// header length bounds, JSON shape, dtype names, offsets inside the data section, no overlaps, and
/// `shape x dtype size == byte length`. Every error names the file and the tensor.
public final class SafeTensorsFile: Sendable {
    /// Headers larger than this are refused before anything is allocated for them.
    /// Real checkpoints have headers of tens of kilobytes.
    public static let maxHeaderBytes: UInt64 = 64 << 20

    public let path: String
    public let storage: PageBuffer
    public let metadata: [String: String]
    /// Tensor entries by name.
    public let entries: [String: Entry]

    public struct Entry: Sendable, Equatable {
        public let dtype: DType
        public let shape: [Int]
        /// Byte range inside the file (absolute).
        public let begin: Int
        public let end: Int
    }

    public init(path: String) throws(TensorError) {
        self.path = path
        let storage = try PageBuffer(mappingFile: path, owner: .weights)
        self.storage = storage
        (entries, metadata) = try SafeTensorsFile.parse(UnsafeRawBufferPointer(start: storage.raw, count: storage.byteCount),
                                                         path: path)
    }

    /// Tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// A view of the named tensor.
    public func tensor(_ name: String) throws(TensorError) -> SafeTensor {
        guard let e = entries[name] else { throw .missingTensor(name: name) }
        return SafeTensor(name: name, dtype: e.dtype, shape: e.shape,
                          data: UnsafeRawPointer(storage.raw + e.begin), byteCount: e.end - e.begin,
                          storage: storage)
    }

    /// Unmaps the file now (views taken from it become invalid).
    public func close() { storage.close() }

    /// `buf` is the whole file image (its base address must not be nil).
    static func parse(_ buf: UnsafeRawBufferPointer, path: String) throws(TensorError) -> ([String: Entry], [String: String]) {
        let fileSize = buf.count
        guard fileSize >= 8 else { throw .truncated(path: path, reason: "\(fileSize) bytes, shorter than the 8-byte header length") }
        let n = buf.loadUnaligned(as: UInt64.self).littleEndian
        guard n <= maxHeaderBytes else { throw .headerTooLarge(path: path, bytes: n, limit: maxHeaderBytes) }
        guard n <= UInt64(fileSize - 8) else {
            throw .truncated(path: path, reason: "header claims \(n) bytes but only \(fileSize - 8) follow")
        }
        let header = UnsafeRawBufferPointer(start: buf.baseAddress! + 8, count: Int(n))
        try checkHeaderCounts(header, path: path)
        // JSONDecoder, not JSONSerialization: the latter builds Foundation objects of a few
        // kilobytes per tensor entry (a 60 MB header of tiny entries peaked at 4 GB).
        let root: [String: HeaderValue]
        do {
            root = try JSONDecoder().decode([String: HeaderValue].self, from: Data(header))
        } catch {
            throw .malformedHeader(path: path, reason: "header is not a valid JSON object")
        }

        let dataStart = 8 + Int(n)
        let dataSize = fileSize - dataStart
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in root {
            if name == "__metadata__" {
                guard let m = value.strings else { throw .malformedHeader(path: path, reason: "__metadata__ is not an object of strings") }
                metadata = m
                continue
            }
            entries[name] = try parseEntry(name: name, value: value, path: path, dataStart: dataStart, dataSize: dataSize)
        }
        try checkOverlaps(entries, path: path)
        return (entries, metadata)
    }

    /// Tensor entries (objects) and values (commas) a header may hold, counted on its raw bytes
    /// before it is parsed. Real checkpoints have hundreds to a few thousand tensors per file
    /// (about ten values each). Parsing costs ~80 bytes of heap per value, so a header at both
    /// limits peaks near 100 MB (a 10 MB header of 2^21 values peaked at 201 MB, 638 MB before).
    public static let maxHeaderObjects = 1 << 16
    public static let maxHeaderValues = 1 << 20

    /// Refuses a header with more objects or values than the limits: an upper bound on what
    /// parsing it would build, whatever the bytes are (braces inside names count too).
    private static func checkHeaderCounts(_ header: UnsafeRawBufferPointer, path: String) throws(TensorError) {
        var objects = 0, values = 0
        for byte in header {
            if byte == UInt8(ascii: "{") { objects += 1 } else if byte == UInt8(ascii: ",") { values += 1 }
        }
        guard objects <= maxHeaderObjects + 2, values <= maxHeaderValues else {
            throw .malformedHeader(path: path, reason: "\(objects) objects and \(values) values, more than the "
                                   + "\(maxHeaderObjects) tensors and \(maxHeaderValues) values a header may hold")
        }
    }

    /// One top-level value of the header, decoded leniently so each problem gets its own error.
    private struct HeaderValue: Decodable {
        var isObject = false
        var dtype: String?
        var shape: [Int]?
        var offsets: [Int]?
        /// Set when the value is an object of strings (`__metadata__`).
        var strings: [String: String]?

        enum Keys: String, CodingKey { case dtype, shape, dataOffsets = "data_offsets" }

        init(from decoder: any Decoder) throws {
            strings = try? decoder.singleValueContainer().decode([String: String].self)
            guard let c = try? decoder.container(keyedBy: Keys.self) else { return }
            isObject = true
            dtype = try? c.decode(String.self, forKey: .dtype)
            shape = try? c.decode([Int].self, forKey: .shape)
            offsets = try? c.decode([Int].self, forKey: .dataOffsets)
        }
    }

    private static func parseEntry(name: String, value: HeaderValue, path: String, dataStart: Int, dataSize: Int) throws(TensorError) -> Entry {
        guard value.isObject else { throw .malformedHeader(path: path, reason: "entry '\(name)' is not an object") }
        guard let dtypeName = value.dtype else { throw .malformedHeader(path: path, reason: "entry '\(name)' has no dtype") }
        guard let dtype = DType(rawValue: dtypeName) else { throw .unknownDType(path: path, tensor: name, dtype: dtypeName) }
        guard let shape = value.shape, shape.allSatisfy({ $0 >= 0 }) else {
            throw .malformedHeader(path: path, reason: "entry '\(name)' has no valid shape")
        }
        guard let offs = value.offsets, offs.count == 2 else {
            throw .badOffsets(path: path, tensor: name, reason: "data_offsets must be two integers")
        }
        let (b, e) = (offs[0], offs[1])
        guard b >= 0, b <= e, e <= dataSize else {
            throw .badOffsets(path: path, tensor: name, reason: "[\(b), \(e)] is outside the data section of \(dataSize) bytes")
        }
        guard let count = elementCount(shape), case (let bytes, false) = count.multipliedReportingOverflow(by: dtype.size) else {
            throw .malformedHeader(path: path, reason: "entry '\(name)' shape \(shape) overflows")
        }
        guard bytes == e - b else { throw .sizeMismatch(path: path, tensor: name, expectedBytes: bytes, actualBytes: e - b) }
        guard (dataStart + b) % dtype.size == 0 else {
            throw .badOffsets(path: path, tensor: name, reason: "data is not aligned to its \(dtype.size)-byte elements")
        }
        return Entry(dtype: dtype, shape: shape, begin: dataStart + b, end: dataStart + e)
    }

    private static func checkOverlaps(_ entries: [String: Entry], path: String) throws(TensorError) {
        let sorted = entries.filter { $0.value.end > $0.value.begin }.sorted { $0.value.begin < $1.value.begin }
        for i in sorted.indices.dropFirst() where sorted[i].value.begin < sorted[i - 1].value.end {
            throw .overlap(path: path, tensor: sorted[i].key, other: sorted[i - 1].key)
        }
    }
}
