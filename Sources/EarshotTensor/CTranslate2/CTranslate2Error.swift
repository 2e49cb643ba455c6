/// Errors from reading and writing CTranslate2 `model.bin` files.
///
/// Its own type, like `GGUFError`, so callers (tests above all) can match one precise case per
/// failure. Every reader case names the file, the variable or alias where there is one, and the
/// byte offset of the field at fault, so a message alone locates the problem.
public enum CTranslate2Error: Error, Sendable, Equatable, CustomStringConvertible {
    // Opening and writing.
    case fileNotFound(path: String)
    case cannotMap(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    // Structure.
    /// A read would pass the end of the file: `what` was being read, `needed` bytes at `offset`.
    case truncated(path: String, what: String, offset: Int, needed: Int, fileSize: Int)
    case unsupportedVersion(path: String, version: UInt32)
    /// A string with length 0, no terminating NUL, a NUL inside, or bytes that are not UTF-8.
    case badString(path: String, what: String, offset: Int, reason: String)

    // Variables.
    case badRank(path: String, variable: String, offset: Int, rank: Int)
    /// Dimensions whose product overflows, or (before version 4) an element count that disagrees
    /// with the shape.
    case badShape(path: String, variable: String, offset: Int, reason: String)
    case unknownDType(path: String, variable: String, offset: Int, dtype: UInt8)
    /// Before version 4 the type is guessed from the item size; only 4, 2 and 1 mean anything.
    case unsupportedItemSize(path: String, variable: String, offset: Int, itemSize: UInt8)
    /// The stored byte count (at `offset`) is not element count × dtype size.
    case sizeMismatch(path: String, variable: String, offset: Int, expectedBytes: Int, actualBytes: Int)
    case duplicateVariable(path: String, name: String, offset: Int)

    // Aliases.
    /// An alias whose target is not a variable, that shadows a variable, or that appears twice.
    case badAlias(path: String, alias: String, target: String, offset: Int, reason: String)

    // Writer input.
    case invalidEntry(path: String, name: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let p): return "file not found: \(p)"
        case .cannotMap(let p, let r): return "cannot map \(p): \(r)"
        case .writeFailed(let p, let r): return "cannot write \(p): \(r)"
        case .truncated(let p, let w, let o, let n, let s):
            return "\(p): truncated CTranslate2 file: \(w) needs \(n) bytes at offset \(o), but the file ends at byte \(s)"
        case .unsupportedVersion(let p, let v):
            return "\(p): unsupported CTranslate2 binary version \(v) (1 to 6 are supported)"
        case .badString(let p, let w, let o, let r): return "\(p): \(w) at offset \(o) \(r)"
        case .badRank(let p, let v, let o, let r):
            return "\(p): variable '\(v)' has rank \(r) at offset \(o) (at most \(CTranslate2File.maxRank) allowed)"
        case .badShape(let p, let v, let o, let r): return "\(p): variable '\(v)' has a bad shape at offset \(o): \(r)"
        case .unknownDType(let p, let v, let o, let d):
            return "\(p): variable '\(v)' has unknown dtype \(d) at offset \(o)"
        case .unsupportedItemSize(let p, let v, let o, let s):
            return "\(p): variable '\(v)' has item size \(s) at offset \(o) (4, 2 or 1 expected)"
        case .sizeMismatch(let p, let v, let o, let e, let a):
            return "\(p): variable '\(v)' needs \(e) bytes for its shape and dtype but the byte count at offset \(o) says \(a)"
        case .duplicateVariable(let p, let n, let o): return "\(p): variable '\(n)' at offset \(o) appears more than once"
        case .badAlias(let p, let a, let t, let o, let r): return "\(p): alias '\(a)' -> '\(t)' at offset \(o): \(r)"
        case .invalidEntry(let p, let n, let r): return "cannot write \(p): '\(n)': \(r)"
        }
    }
}
