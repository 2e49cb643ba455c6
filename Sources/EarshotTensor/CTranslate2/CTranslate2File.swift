/// Element types of CTranslate2 variables, numbered as in the file (binary version 4 and later).
public enum CTranslate2DType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = 0, int8 = 1, int16 = 2, int32 = 3, float16 = 4, bfloat16 = 5

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .int8: return 1
        case .int16, .float16, .bfloat16: return 2
        case .float32, .int32: return 4
        }
    }

    public var description: String {
        switch self {
        case .float32: return "float32"
        case .int8: return "int8"
        case .int16: return "int16"
        case .int32: return "int32"
        case .float16: return "float16"
        case .bfloat16: return "bfloat16"
        }
    }

    /// The type files before version 4 imply by their item size (the reference reader's rule).
    init?(itemSize: UInt8) {
        switch itemSize {
        case 4: self = .float32
        case 2: self = .int16
        case 1: self = .int8
        default: return nil
        }
    }
}

/// One variable of a CTranslate2 model: where its bytes lie in the file and how to read them.
public struct CTranslate2Variable: Sendable, Hashable {
    public let name: String
    /// Row-major shape, outermost first; `[]` for a scalar.
    public let shape: [Int]
    public let dtype: CTranslate2DType
    /// Byte offset of the data from the start of the file. The format has no padding, so this is
    /// often *not* a multiple of the element size: read with `loadUnaligned` or copy out.
    public let offset: Int
    public let byteCount: Int

    /// Elements in the variable (1 for a scalar).
    public var elementCount: Int { byteCount / dtype.size }
}

/// A zero-copy reader of a CTranslate2 `model.bin` (binary versions 1 to 6).
///
/// Layout, all little-endian and unpadded: u32 binary version; from version 2, the spec name
/// (string) and u32 spec revision; u32 variable count; per variable its name (string), u8 rank,
/// u32 dimensions (row-major), then from version 4 a u8 dtype and u32 byte count (before that a
/// u8 item size and u32 element count), then the data; from version 3, u32 alias count and
/// (alias, target) string pairs. A string is a u16 length that counts a terminating NUL, then the
/// bytes with that NUL last. Bytes after the aliases are ignored, as the reference reader does.
///
/// The file is mapped read-only once through a `PageBuffer` (counted under `.weights`; the
/// descriptor is closed right after mapping) and variables are read in place. Parsing is strict
/// and total: every read is bounds-checked, arithmetic on file values reports overflow instead of
/// trapping, and every error names the file, the variable and the byte offset.
///
/// Variable data is not aligned: the format packs records back to back, and in the real Whisper
/// files more than half of the float16 tensors start at an odd offset.
///
/// `Sendable` (checked): every stored property is an immutable `Sendable` value, and the mapping
/// is a read-only `PageBuffer`, which is itself `Sendable`.
public final class CTranslate2File: Sendable {
    /// Deepest shape accepted. CTranslate2 sets no limit; real models use at most 4.
    public static let maxRank = 8

    public let path: String
    public let version: Int
    /// "" for version 1, which did not record it.
    public let specName: String
    /// 1 for version 1, which did not record it.
    public let specRevision: Int
    /// The mapping of the whole file.
    public let storage: PageBuffer
    /// Alias -> the variable it stands for.
    public let aliases: [String: String]
    private let index: [String: CTranslate2Variable]
    private let sortedNames: [String]

    public init(path: String) throws(CTranslate2Error) {
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
        specName = parsed.specName
        specRevision = parsed.specRevision
        index = parsed.variables
        aliases = parsed.aliases
        sortedNames = parsed.variables.keys.sorted(by: utf8Order)
    }

    /// Variable names in byte order (the order the converter writes them), aliases excluded.
    public var variableNames: [String] { sortedNames }

    /// The variable called `name`; an alias gives its target's variable (named after the target).
    public func variable(_ name: String) -> CTranslate2Variable? {
        if let v = index[name] { return v }
        return aliases[name].flatMap { index[$0] }
    }

    /// The bytes of `v`, in place in the mapping, valid until `close()`. Empty once the file is
    /// closed, or for a variable whose bytes do not lie inside this file.
    public func data(_ v: CTranslate2Variable) -> UnsafeRawBufferPointer {
        guard storage.isOpen, v.offset >= 0, v.byteCount >= 0, v.offset <= storage.byteCount - v.byteCount else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: storage.raw + v.offset, count: v.byteCount)
    }

    /// The value of a one-element int8, int16 or int32 variable (a scalar such as
    /// `encoder/num_heads`), sign-extended; nil for anything else or once the file is closed.
    public func integerScalar(_ name: String) -> Int? {
        guard let v = variable(name), v.elementCount == 1 else { return nil }
        let bytes = data(v)
        guard let p = bytes.baseAddress, bytes.count == v.dtype.size else { return nil }
        switch v.dtype {
        case .int8: return Int(p.load(as: Int8.self))
        case .int16: return Int(Int16(littleEndian: p.loadUnaligned(as: Int16.self)))
        case .int32: return Int(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
        case .float32, .float16, .bfloat16: return nil
        }
    }

    /// Bytes of address space the mapping takes (the file size rounded up to whole pages).
    public var mappedBytes: Int { storage.mappedBytes }

    /// Unmaps the file now (pointers taken from it become invalid). Idempotent.
    public func close() { storage.close() }

    // MARK: - Parsing

    /// Smallest variable record: an empty name (length 2 + NUL 1), rank (1), dtype or item size
    /// (1), byte or element count (4). Only used to bound the capacity reserved up front.
    private static let minimumVariableBytes = 9

    struct Parsed {
        var version = 0
        var specName = ""
        var specRevision = 1
        var variables: [String: CTranslate2Variable] = [:]
        var aliases: [String: String] = [:]
    }

    /// `buf` is the whole file image (its base address must not be nil).
    static func parse(_ buf: UnsafeRawBufferPointer, path: String) throws(CTranslate2Error) -> Parsed {
        var c = CTranslate2Cursor(base: buf.baseAddress!, count: buf.count, path: path)
        var p = Parsed()
        let version = try c.read(UInt32.self, "binary version")
        guard (1...6).contains(version) else { throw .unsupportedVersion(path: path, version: version) }
        p.version = Int(version)
        if version >= 2 {
            p.specName = try c.string("spec name")
            p.specRevision = Int(try c.read(UInt32.self, "spec revision"))
        }
        let count = Int(try c.read(UInt32.self, "variable count"))
        // A lying count meets a truncation error in the loop; reserve only what could be true.
        p.variables.reserveCapacity(min(count, c.remaining / minimumVariableBytes))
        for i in 0..<count {
            let v = try variable(&c, number: i, version: p.version)
            guard p.variables[v.name] == nil else { throw .duplicateVariable(path: path, name: v.name, offset: v.recordOffset) }
            p.variables[v.name] = v.variable
        }
        if version >= 3 {
            let aliasCount = Int(try c.read(UInt32.self, "alias count"))
            for i in 0..<aliasCount {
                let start = c.offset
                let alias = try c.string("name of alias \(i)")
                let target = try c.string("target of alias '\(alias)'")
                func bad(_ reason: String) -> CTranslate2Error {
                    .badAlias(path: path, alias: alias, target: target, offset: start, reason: reason)
                }
                guard p.variables[alias] == nil else { throw bad("a variable already has this name") }
                guard p.aliases[alias] == nil else { throw bad("the alias is defined more than once") }
                guard p.variables[target] != nil else {
                    throw bad(p.aliases[target] != nil ? "the target is another alias, not a variable" : "no variable has the target's name")
                }
                p.aliases[alias] = target
            }
        }
        return p
    }

    /// Reads one variable record, leaving the cursor after its data.
    private static func variable(_ c: inout CTranslate2Cursor, number i: Int, version: Int)
        throws(CTranslate2Error) -> (name: String, recordOffset: Int, variable: CTranslate2Variable) {
        let path = c.path
        let recordOffset = c.offset
        let name = try c.string("name of variable \(i)")
        let rankOffset = c.offset
        let rank = Int(try c.read(UInt8.self, "rank of '\(name)'"))
        guard rank <= maxRank else { throw .badRank(path: path, variable: name, offset: rankOffset, rank: rank) }
        var shape: [Int] = []
        shape.reserveCapacity(rank)
        var elements = 1
        for d in 0..<rank {
            let dimOffset = c.offset
            let dim = Int(try c.read(UInt32.self, "dimension \(d) of '\(name)'"))
            guard case (let product, false) = elements.multipliedReportingOverflow(by: dim) else {
                throw .badShape(path: path, variable: name, offset: dimOffset,
                                reason: "the element count overflows at dimension \(d) (\(shape + [dim]))")
            }
            shape.append(dim)
            elements = product
        }

        let typeOffset = c.offset
        let dtype: CTranslate2DType
        let byteCount: Int
        if version >= 4 {
            let raw = try c.read(UInt8.self, "dtype of '\(name)'")
            guard let t = CTranslate2DType(rawValue: raw) else {
                throw .unknownDType(path: path, variable: name, offset: typeOffset, dtype: raw)
            }
            dtype = t
            let countOffset = c.offset
            byteCount = Int(try c.read(UInt32.self, "byte count of '\(name)'"))
            guard case (let expected, false) = elements.multipliedReportingOverflow(by: t.size) else {
                throw .badShape(path: path, variable: name, offset: rankOffset,
                                reason: "\(shape) × \(t.size)-byte \(t) overflows the byte count")
            }
            guard expected == byteCount else {
                throw .sizeMismatch(path: path, variable: name, offset: countOffset, expectedBytes: expected, actualBytes: byteCount)
            }
        } else {
            let itemSize = try c.read(UInt8.self, "item size of '\(name)'")
            guard let t = CTranslate2DType(itemSize: itemSize) else {
                throw .unsupportedItemSize(path: path, variable: name, offset: typeOffset, itemSize: itemSize)
            }
            dtype = t
            let countOffset = c.offset
            let stored = Int(try c.read(UInt32.self, "element count of '\(name)'"))
            guard stored == elements else {
                throw .badShape(path: path, variable: name, offset: countOffset,
                                reason: "shape \(shape) holds \(elements) elements but the element count says \(stored)")
            }
            byteCount = stored * t.size   // at most 4 × (2^32 - 1): no overflow
        }
        let dataOffset = c.offset
        try c.skip(byteCount, "data of '\(name)' (\(dtype) \(shape))")
        return (name, recordOffset, CTranslate2Variable(name: name, shape: shape, dtype: dtype, offset: dataOffset, byteCount: byteCount))
    }
}

/// Byte order of UTF-8, which is code point order: how the Python converter sorts names.
func utf8Order(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
