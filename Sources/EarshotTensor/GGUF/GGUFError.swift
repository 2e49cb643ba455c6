/// Errors from reading and writing GGUF files.
///
/// A separate type from `TensorError` because the GGUF format has its own vocabulary (metadata
/// keys, value types, ggml types, alignment), and callers that match on errors — tests above all —
/// deserve one precise case per failure instead of a reason string. Every case names the file and,
/// where there is one, the metadata key or tensor, so a message alone locates the problem.
public enum GGUFError: Error, Sendable, Equatable, CustomStringConvertible {
    // Opening and writing.
    case fileNotFound(path: String)
    case cannotMap(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    /// The file was closed; pointers into it would dangle.
    case closed(path: String)

    // Structure.
    /// A read would pass the end of the file; `reason` says what was being read.
    case truncated(path: String, reason: String)
    case badMagic(path: String, found: [UInt8])
    case unsupportedVersion(path: String, version: UInt32)
    /// A count (tensors, metadata entries, array elements) that the remaining bytes cannot hold,
    /// or that exceeds a hard limit; refused before anything is allocated for it.
    case countTooLarge(path: String, what: String, count: UInt64, limit: UInt64)
    case stringTooLong(path: String, what: String, length: UInt64, remaining: Int)
    case invalidUTF8(path: String, what: String)

    // Metadata.
    case duplicateKey(path: String, key: String)
    case unknownValueType(path: String, key: String, type: UInt32)
    case arrayTooDeep(path: String, key: String, limit: Int)
    case badAlignment(path: String, reason: String)
    /// A metadata value that the writer cannot encode (mixed array element types, for example).
    case invalidValue(path: String, key: String, reason: String)

    // Tensors.
    case duplicateTensor(path: String, name: String)
    case unknownTensorType(path: String, tensor: String, type: UInt32)
    case badDimensionCount(path: String, tensor: String, count: UInt32)
    case badDimensions(path: String, tensor: String, reason: String)
    case misalignedTensor(path: String, tensor: String, offset: UInt64, alignment: Int)
    case tensorPastEnd(path: String, tensor: String, end: UInt64, fileSize: Int)
    case overlap(path: String, tensor: String, other: String)
    case missingTensor(path: String, name: String)
    /// The writer was given a different number of bytes than the tensor's type and shape need,
    /// or tensors out of their declared order.
    case sizeMismatch(path: String, tensor: String, expectedBytes: Int, actualBytes: Int)
    case outOfOrder(path: String, expected: String, actual: String)

    public var description: String {
        switch self {
        case .fileNotFound(let p): return "file not found: \(p)"
        case .cannotMap(let p, let r): return "cannot map \(p): \(r)"
        case .writeFailed(let p, let r): return "cannot write \(p): \(r)"
        case .closed(let p): return "\(p): GGUF file is closed"
        case .truncated(let p, let r): return "\(p): truncated GGUF file: \(r)"
        case .badMagic(let p, let f):
            return "\(p): not a GGUF file (magic bytes \(f.map { String($0, radix: 16) }), expected \"GGUF\")"
        case .unsupportedVersion(let p, let v):
            // Big-endian GGUF files announce themselves with a byte-swapped version number.
            let hint = v.byteSwapped == 2 || v.byteSwapped == 3 ? " (a big-endian file, which Earshot does not read)" : ""
            return "\(p): unsupported GGUF version \(v)\(hint) (2 and 3 are supported)"
        case .countTooLarge(let p, let w, let c, let l):
            return "\(p): \(w) is \(c), more than the \(l) the file can hold; file is corrupt or hostile"
        case .stringTooLong(let p, let w, let n, let r):
            return "\(p): \(w) claims \(n) bytes but only \(r) remain in the file"
        case .invalidUTF8(let p, let w): return "\(p): \(w) is not valid UTF-8"
        case .duplicateKey(let p, let k): return "\(p): metadata key '\(k)' appears more than once"
        case .unknownValueType(let p, let k, let t): return "\(p): metadata key '\(k)' has unknown value type \(t)"
        case .arrayTooDeep(let p, let k, let l): return "\(p): metadata key '\(k)' nests arrays deeper than \(l)"
        case .badAlignment(let p, let r): return "\(p): bad general.alignment: \(r)"
        case .invalidValue(let p, let k, let r): return "\(p): metadata key '\(k)': \(r)"
        case .duplicateTensor(let p, let n): return "\(p): tensor '\(n)' appears more than once"
        case .unknownTensorType(let p, let t, let ty): return "\(p): tensor '\(t)' has unknown ggml type \(ty)"
        case .badDimensionCount(let p, let t, let c): return "\(p): tensor '\(t)' has \(c) dimensions (1 to 4 allowed)"
        case .badDimensions(let p, let t, let r): return "\(p): tensor '\(t)' has bad dimensions: \(r)"
        case .misalignedTensor(let p, let t, let o, let a):
            return "\(p): tensor '\(t)' data offset \(o) is not a multiple of the alignment \(a)"
        case .tensorPastEnd(let p, let t, let e, let s):
            return "\(p): tensor '\(t)' data ends at byte \(e), past the end of the \(s)-byte file"
        case .overlap(let p, let t, let o): return "\(p): tensor '\(t)' overlaps tensor '\(o)'"
        case .missingTensor(let p, let n): return "\(p): no tensor named '\(n)'"
        case .sizeMismatch(let p, let t, let e, let a):
            return "\(p): tensor '\(t)' needs \(e) bytes for its type and shape but got \(a)"
        case .outOfOrder(let p, let e, let a):
            return "\(p): tensor '\(a)' written out of order (next declared tensor is '\(e)')"
        }
    }
}
