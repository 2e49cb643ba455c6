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
        let headerBytes = Data(bytes: buf.baseAddress! + 8, count: Int(n))
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes, options: [])
        } catch {
            throw .malformedHeader(path: path, reason: "header is not valid JSON")
        }
        guard let root = json as? [String: Any] else { throw .malformedHeader(path: path, reason: "header is not a JSON object") }

        let dataStart = 8 + Int(n)
        let dataSize = fileSize - dataStart
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in root {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw .malformedHeader(path: path, reason: "__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw .malformedHeader(path: path, reason: "__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            entries[name] = try parseEntry(name: name, value: value, path: path, dataStart: dataStart, dataSize: dataSize)
        }
        try checkOverlaps(entries, path: path)
        return (entries, metadata)
    }

    private static func parseEntry(name: String, value: Any, path: String, dataStart: Int, dataSize: Int) throws(TensorError) -> Entry {
        guard let obj = value as? [String: Any] else { throw .malformedHeader(path: path, reason: "entry '\(name)' is not an object") }
        guard let dtypeName = obj["dtype"] as? String else { throw .malformedHeader(path: path, reason: "entry '\(name)' has no dtype") }
        guard let dtype = DType(rawValue: dtypeName) else { throw .unknownDType(path: path, tensor: name, dtype: dtypeName) }
        guard let shapeAny = obj["shape"] as? [Any], let shape = integers(shapeAny), shape.allSatisfy({ $0 >= 0 }) else {
            throw .malformedHeader(path: path, reason: "entry '\(name)' has no valid shape")
        }
        guard let offAny = obj["data_offsets"] as? [Any], let offs = integers(offAny), offs.count == 2 else {
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

    /// JSON numbers as Ints, refusing fractions, negatives beyond Int range and non-numbers.
    private static func integers(_ values: [Any]) -> [Int]? {
        var out: [Int] = []
        out.reserveCapacity(values.count)
        for v in values {
            if v is Bool, !(v is Int) { return nil }
            if let i = v as? Int {
                out.append(i)
            } else if let d = v as? Double, d.rounded() == d, abs(d) < 9.0e15 {
                out.append(Int(d))
            } else {
                return nil
            }
        }
        return out
    }

    private static func checkOverlaps(_ entries: [String: Entry], path: String) throws(TensorError) {
        let sorted = entries.filter { $0.value.end > $0.value.begin }.sorted { $0.value.begin < $1.value.begin }
        for i in sorted.indices.dropFirst() where sorted[i].value.begin < sorted[i - 1].value.end {
            throw .overlap(path: path, tensor: sorted[i].key, other: sorted[i - 1].key)
        }
    }
}
