/// One tensor's entry in a GGUF file.
///
/// **Shape order.** GGUF (like ggml) stores dimensions innermost first: `ne[0]` is the number of
/// columns, the fastest-varying index. `shape` here is the reverse — outermost first, the
/// row-major order PyTorch, safetensors and the rest of Earshot use — so a linear layer's
/// `[out, in]` weight reads as `[out, in]`. `dimensions` gives the on-disk (ggml) order.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// Row-major shape, outermost first (the file's dimensions reversed).
    public let shape: [Int]
    public let elementCount: Int
    /// Bytes of data: `elementCount / type.blockSize * type.bytesPerBlock`.
    public let byteCount: Int
    /// Offset of the data from the start of the data section, as stored in the file.
    public let offset: Int
    /// Offset of the data from the start of the file.
    public let fileOffset: Int

    /// Dimensions in GGUF/ggml order, innermost first (`ne[0]` = columns).
    public var dimensions: [Int] { shape.reversed() }
}

/// A zero-copy reader of a GGUF (v3, or v2 which has the same layout) file.
///
/// Layout: magic "GGUF", u32 version, u64 tensor count, u64 metadata count, the metadata entries
/// (string key, u32 value type, value), the tensor infos (string name, u32 dimension count, u64
/// dimensions innermost first, u32 ggml type, u64 data offset), padding to `general.alignment`
/// (default 32), then the data section. All integers are little-endian.
///
/// The whole file is mapped read-only through a `PageBuffer` (counted under `.weights`; the
/// descriptor is closed right after mapping) and tensor data is read in place. Files come from
/// outside, so parsing is strict and total: every read is bounds-checked, every count is checked
/// against the bytes that could hold it before allocating, and arithmetic on file values reports
/// overflow instead of trapping. Every error names the file and the key or tensor at fault.
public final class GGUFFile: Sendable {
    public static let magic: [UInt8] = Array("GGUF".utf8)
    public static let defaultAlignment = 32
    /// Smallest possible tensor info: empty name (8), dimension count (4), one dimension (8),
    /// type (4), offset (8). Used to refuse tensor counts the file cannot hold.
    static let minimumTensorInfoSize = 32
    /// Smallest possible metadata entry: empty key (8), value type (4), a one-byte value.
    static let minimumMetadataEntrySize = 13

    public let path: String
    public let storage: PageBuffer
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Start of the data section (absolute file offset, a multiple of `alignment`).
    public let dataOffset: Int
    private let index: [String: Int]

    public init(path: String) throws(GGUFError) {
        self.path = path
        let storage: PageBuffer
        do throws(TensorError) {
            storage = try PageBuffer(mappingFile: path, owner: .weights)
        } catch {
            if case .fileNotFound = error { throw .fileNotFound(path: path) }
            if case .mapFailed(_, let reason) = error { throw .cannotMap(path: path, reason: reason) }
            throw .cannotMap(path: path, reason: error.description)
        }
        self.storage = storage
        // On a parse error the mapping is released by `storage`'s deinit as this init unwinds.
        let parsed = try Self.parse(UnsafeRawBufferPointer(start: storage.raw, count: storage.byteCount), path: path)
        version = parsed.version
        metadata = parsed.metadata
        metadataKeys = parsed.keys
        tensors = parsed.tensors
        alignment = parsed.alignment
        dataOffset = parsed.dataOffset
        index = Dictionary(uniqueKeysWithValues: parsed.tensors.enumerated().map { ($1.name, $0) })
    }

    public func tensor(named name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

    /// The bytes of `tensor`, in place in the mapping. Valid until `close()`.
    public func data(of tensor: GGUFTensorInfo) throws(GGUFError) -> UnsafeRawBufferPointer {
        // Only this file's own entries: a foreign info could point anywhere in (or past) the mapping.
        guard let i = index[tensor.name], tensors[i] == tensor else { throw .missingTensor(path: path, name: tensor.name) }
        guard storage.isOpen else { throw .closed(path: path) }
        return UnsafeRawBufferPointer(start: storage.raw + tensor.fileOffset, count: tensor.byteCount)
    }

    /// The bytes of the tensor called `name`, in place in the mapping. Valid until `close()`.
    public func data(named name: String) throws(GGUFError) -> UnsafeRawBufferPointer {
        guard let t = tensor(named: name) else { throw .missingTensor(path: path, name: name) }
        return try data(of: t)
    }

    /// Unmaps the file now (pointers taken from it become invalid). Idempotent.
    public func close() { storage.close() }

    struct Parsed {
        var version: UInt32 = 0
        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        var tensors: [GGUFTensorInfo] = []
        var alignment = GGUFFile.defaultAlignment
        var dataOffset = 0
    }

    /// `buf` is the whole file image (its base address must not be nil).
    static func parse(_ buf: UnsafeRawBufferPointer, path: String) throws(GGUFError) -> Parsed {
        var c = GGUFCursor(base: buf.baseAddress!, count: buf.count, path: path)
        var p = Parsed()
        let magic = Array(buf.prefix(4))
        guard magic.count == 4 else { throw .truncated(path: path, reason: "\(buf.count) bytes, shorter than the magic") }
        guard magic == Self.magic else { throw .badMagic(path: path, found: magic) }
        _ = try c.read(UInt32.self, "magic")
        p.version = try c.read(UInt32.self, "version")
        // v1 used 32-bit counts and lengths; v2 and v3 share this layout (v3 only added big-endian
        // files, which announce themselves with a byte-swapped version and land here too).
        guard p.version == 2 || p.version == 3 else { throw .unsupportedVersion(path: path, version: p.version) }
        let tensorCount = try c.read(UInt64.self, "tensor count")
        let kvCount = try c.read(UInt64.self, "metadata entry count")
        try c.checkCount(kvCount, minSize: minimumMetadataEntrySize, "metadata entry count")
        try c.checkCount(tensorCount, minSize: minimumTensorInfoSize, "tensor count")

        p.keys.reserveCapacity(Int(kvCount))
        for i in 0..<Int(kvCount) {
            let key = try c.string("key of metadata entry \(i)")
            guard p.metadata[key] == nil else { throw .duplicateKey(path: path, key: key) }
            let rawType = try c.read(UInt32.self, "value type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw .unknownValueType(path: path, key: key, type: rawType)
            }
            p.metadata[key] = try c.value(type, key: key)
            p.keys.append(key)
        }
        p.alignment = try alignment(p.metadata, path: path)

        // Counted again now that the metadata is consumed: the infos must fit in what is left.
        try c.checkCount(tensorCount, minSize: minimumTensorInfoSize, "tensor count")
        var seen = Set<String>()
        var infos: [(name: String, type: GGMLType, dims: [Int], elements: Int, bytes: Int, offset: UInt64)] = []
        infos.reserveCapacity(Int(tensorCount))
        for i in 0..<Int(tensorCount) {
            let name = try c.string("name of tensor \(i)")
            guard seen.insert(name).inserted else { throw .duplicateTensor(path: path, name: name) }
            let nDims = try c.read(UInt32.self, "dimension count of tensor '\(name)'")
            guard (1...4).contains(nDims) else { throw .badDimensionCount(path: path, tensor: name, count: nDims) }
            var dims: [Int] = []
            var elements = 1
            for d in 0..<Int(nDims) {
                let raw = try c.read(UInt64.self, "dimension \(d) of tensor '\(name)'")
                guard raw > 0 else { throw .badDimensions(path: path, tensor: name, reason: "dimension \(d) is zero") }
                guard let dim = Int(exactly: raw), case (let n, false) = elements.multipliedReportingOverflow(by: dim) else {
                    throw .badDimensions(path: path, tensor: name, reason: "element count overflows at dimension \(d) (\(raw))")
                }
                dims.append(dim)
                elements = n
            }
            let rawType = try c.read(UInt32.self, "type of tensor '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw .unknownTensorType(path: path, tensor: name, type: rawType)
            }
            // ggml quantizes along rows, so the row length itself must be whole blocks.
            guard dims[0] % type.blockSize == 0 else {
                throw .badDimensions(path: path, tensor: name,
                                     reason: "row length \(dims[0]) is not a multiple of \(type)'s block of \(type.blockSize)")
            }
            let bytes = try type.byteCount(elements: elements, tensor: name, path: path)
            let offset = try c.read(UInt64.self, "data offset of tensor '\(name)'")
            guard offset % UInt64(p.alignment) == 0 else {
                throw .misalignedTensor(path: path, tensor: name, offset: offset, alignment: p.alignment)
            }
            infos.append((name, type, dims, elements, bytes, offset))
        }

        // The data section starts at the first aligned offset after the infos. It may lie past the
        // end of a file without tensors; with tensors, the bounds check below catches that.
        guard case (let padded, false) = c.offset.addingReportingOverflow(p.alignment - 1) else {
            throw .truncated(path: path, reason: "data section offset overflows")
        }
        p.dataOffset = padded / p.alignment * p.alignment
        let fileSize = buf.count
        for t in infos {
            let start = UInt64(p.dataOffset).addingReportingOverflow(t.offset)
            let end = start.partialValue.addingReportingOverflow(UInt64(t.bytes))
            guard !start.overflow, !end.overflow, end.partialValue <= UInt64(fileSize) else {
                throw .tensorPastEnd(path: path, tensor: t.name, end: start.overflow || end.overflow ? .max : end.partialValue,
                                    fileSize: fileSize)
            }
            p.tensors.append(GGUFTensorInfo(name: t.name, type: t.type, shape: t.dims.reversed(), elementCount: t.elements,
                                            byteCount: t.bytes, offset: Int(t.offset), fileOffset: Int(start.partialValue)))
        }
        try checkOverlaps(p.tensors, path: path)
        return p
    }

    /// `general.alignment`: a u32 power of two, 32 when absent.
    private static func alignment(_ metadata: [String: GGUFValue], path: String) throws(GGUFError) -> Int {
        guard let v = metadata["general.alignment"] else { return defaultAlignment }
        guard case .uint32(let a) = v else { throw .badAlignment(path: path, reason: "type is \(v.type), not uint32") }
        guard a != 0, a & (a - 1) == 0 else { throw .badAlignment(path: path, reason: "\(a) is not a power of two") }
        return Int(a)
    }

    /// Tensors may appear in any order in the data section but must not share bytes
    /// (every tensor has at least one byte, since zero dimensions are refused). Checking neighbours
    /// in offset order suffices: the first tensor starting inside another is its successor.
    private static func checkOverlaps(_ tensors: [GGUFTensorInfo], path: String) throws(GGUFError) {
        let sorted = tensors.sorted { $0.fileOffset < $1.fileOffset }
        for i in sorted.indices.dropFirst() where sorted[i].fileOffset < sorted[i - 1].fileOffset + sorted[i - 1].byteCount {
            throw .overlap(path: path, tensor: sorted[i].name, other: sorted[i - 1].name)
        }
    }
}
