/// Checks of everything `GGUFWriter` is given, done before its first byte is written so that a
/// bad declaration never costs a half-written file, and so that whatever it writes, `GGUFFile`
/// (with its limits) reads back.
extension GGUFWriter {
    /// Checks the metadata can be written and read back (no duplicate keys, one element type per
    /// array, nesting and value count within the reader's limits) and adds `general.alignment`
    /// when it differs from the default.
    static func validate(metadata: [(key: String, value: GGUFValue)], alignment: Int,
                         path: String) throws(GGUFError) -> [(key: String, value: GGUFValue)] {
        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= Int(UInt32.max) else {
            throw .badAlignment(path: path, reason: "\(alignment) is not a power of two that fits in u32")
        }
        var seen = Set<String>()
        var values = 0
        for (key, value) in metadata {
            guard seen.insert(key).inserted else { throw .duplicateKey(path: path, key: key) }
            try validate(value, key: key, depth: 0, count: &values, path: path)
        }
        if let given = metadata.first(where: { $0.key == "general.alignment" })?.value {
            guard given == .uint32(UInt32(alignment)) else {
                throw .badAlignment(path: path, reason: "metadata says \(given) but the writer aligns to \(alignment)")
            }
            return metadata
        }
        return alignment == GGUFFile.defaultAlignment ? metadata : metadata + [("general.alignment", .uint32(UInt32(alignment)))]
    }

    static func validate(_ value: GGUFValue, key: String, depth: Int, count: inout Int,
                         path: String) throws(GGUFError) {
        count += 1
        guard count <= GGUFCursor.maxMetadataValues else {
            throw .countTooLarge(path: path, what: "the number of metadata values (at '\(key)')", count: UInt64(count),
                                 limit: UInt64(GGUFCursor.maxMetadataValues))
        }
        guard case .array(let type, let elements) = value else { return }
        guard depth < GGUFCursor.maxArrayDepth else { throw .arrayTooDeep(path: path, key: key, limit: GGUFCursor.maxArrayDepth) }
        for e in elements {
            guard e.type == type else {
                throw .invalidValue(path: path, key: key, reason: "array of \(type) holds a \(e.type) element")
            }
            try validate(e, key: key, depth: depth + 1, count: &count, path: path)
        }
    }

    /// Checks a declaration and returns its byte count.
    static func validate(_ t: GGUFTensorDeclaration, path: String) throws(GGUFError) -> Int {
        guard !t.name.isEmpty, t.name.utf8.count <= maxTensorNameBytes else {
            throw .badDimensions(path: path, tensor: t.name, reason: "name must have 1 to \(maxTensorNameBytes) bytes")
        }
        guard (1...4).contains(t.shape.count) else {
            throw .badDimensionCount(path: path, tensor: t.name, count: UInt32(clamping: t.shape.count))
        }
        guard t.shape.allSatisfy({ $0 > 0 }), let n = elementCount(t.shape) else {
            throw .badDimensions(path: path, tensor: t.name, reason: "shape \(t.shape) has a non-positive dimension or overflows")
        }
        guard t.shape.last! % t.type.blockSize == 0 else {
            throw .badDimensions(path: path, tensor: t.name,
                                 reason: "row length \(t.shape.last!) is not a multiple of \(t.type)'s block of \(t.type.blockSize)")
        }
        return try t.type.byteCount(elements: n, tensor: t.name, path: path)
    }
}
