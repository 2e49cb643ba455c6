/// A bounds-checked little-endian reader over a mapped GGUF file.
///
/// Every read checks the remaining bytes first and throws `truncated` naming what it was reading,
/// so no input can make the parser load past the mapping. Offsets are `Int`s that never exceed
/// `count`, so the arithmetic here cannot overflow; counts taken from the file are compared with
/// the remaining bytes *before* anything is allocated for them.
struct GGUFCursor {
    /// Arrays nested deeper than this are refused: real files use one level (vocabularies), and a
    /// bound keeps recursion (and stack use) small whatever the file says.
    static let maxArrayDepth = 8
    /// Total metadata values (array elements included) accepted in one file. Each decoded value
    /// costs tens of bytes of heap, so without a cap a file of one-byte array elements would
    /// expand into many times its size (8 MB of them peaked at 228 MB with a cap of 2^23). Real
    /// vocabularies hold a few hundred thousand entries (tokens, scores and types: under 10^6).
    static let maxMetadataValues = 1 << 21

    let base: UnsafeRawPointer
    let count: Int
    let path: String
    private(set) var offset = 0
    private var valuesLeft = GGUFCursor.maxMetadataValues

    init(base: UnsafeRawPointer, count: Int, path: String) {
        self.base = base
        self.count = count
        self.path = path
    }

    var remaining: Int { count - offset }

    /// Reads a fixed-size little-endian integer.
    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            throw .truncated(path: path, reason: "\(what()) needs \(size) bytes at offset \(offset), but the file has \(count)")
        }
        let v = T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return v
    }

    /// Reads a GGUF string: u64 byte length, then that many bytes of UTF-8 (no terminator).
    mutating func string(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
        let length = try read(UInt64.self, "length of \(what())")
        guard length <= UInt64(remaining) else {
            throw .stringTooLong(path: path, what: what(), length: length, remaining: remaining)
        }
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: Int(length))
        guard let s = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8(path: path, what: what()) }
        offset += Int(length)
        return s
    }

    /// Refuses `n` items of at least `minSize` bytes each when the rest of the file cannot hold them.
    func checkCount(_ n: UInt64, minSize: Int, _ what: @autoclosure () -> String) throws(GGUFError) {
        let limit = UInt64(remaining / minSize)
        guard n <= limit else { throw .countTooLarge(path: path, what: what(), count: n, limit: limit) }
    }

    /// Reads one metadata value of `type` (for `key`, named in errors).
    mutating func value(_ type: GGUFValueType, key: String, depth: Int = 0) throws(GGUFError) -> GGUFValue {
        guard valuesLeft > 0 else {
            throw .countTooLarge(path: path, what: "the number of metadata values (at '\(key)')",
                                 count: UInt64(GGUFCursor.maxMetadataValues) + 1, limit: UInt64(GGUFCursor.maxMetadataValues))
        }
        valuesLeft -= 1
        let what = "value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, what))
        case .int8: return .int8(try read(Int8.self, what))
        case .uint16: return .uint16(try read(UInt16.self, what))
        case .int16: return .int16(try read(Int16.self, what))
        case .uint32: return .uint32(try read(UInt32.self, what))
        case .int32: return .int32(try read(Int32.self, what))
        case .uint64: return .uint64(try read(UInt64.self, what))
        case .int64: return .int64(try read(Int64.self, what))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, what)))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, what)))
        case .bool:
            // The format says 0 or 1; anything else is corruption rather than "true".
            let b = try read(UInt8.self, what)
            guard b <= 1 else { throw .invalidValue(path: path, key: key, reason: "bool value \(b) is neither 0 nor 1") }
            return .bool(b == 1)
        case .string: return .string(try string(what))
        case .array: return try array(key: key, depth: depth + 1)
        }
    }

    /// Reads an array value: u32 element type, u64 count, then the elements (nested arrays repeat
    /// this layout per element).
    private mutating func array(key: String, depth: Int) throws(GGUFError) -> GGUFValue {
        guard depth <= GGUFCursor.maxArrayDepth else {
            throw .arrayTooDeep(path: path, key: key, limit: GGUFCursor.maxArrayDepth)
        }
        let rawType = try read(UInt32.self, "array element type of '\(key)'")
        guard let elementType = GGUFValueType(rawValue: rawType) else {
            throw .unknownValueType(path: path, key: key, type: rawType)
        }
        let n = try read(UInt64.self, "array length of '\(key)'")
        try checkCount(n, minSize: elementType.minimumEncodedSize, "array length of '\(key)'")
        guard n <= UInt64(valuesLeft) else {
            throw .countTooLarge(path: path, what: "array length of '\(key)' (metadata value budget)",
                                 count: n, limit: UInt64(valuesLeft))
        }
        var elements: [GGUFValue] = []
        elements.reserveCapacity(Int(n))
        for _ in 0..<Int(n) {
            elements.append(try value(elementType, key: key, depth: depth))
        }
        return .array(elementType, elements)
    }
}
