/// Errors from the tensor layer: owned memory, safetensors files, and kernels.
/// Every case names the file and, where there is one, the tensor.
public enum TensorError: Error, Sendable, Equatable, CustomStringConvertible {
    case mapFailed(path: String, reason: String)
    case allocationFailed(bytes: Int, reason: String)
    case fileNotFound(path: String)
    case headerTooLarge(path: String, bytes: UInt64, limit: UInt64)
    case truncated(path: String, reason: String)
    case malformedHeader(path: String, reason: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    case badOffsets(path: String, tensor: String, reason: String)
    case sizeMismatch(path: String, tensor: String, expectedBytes: Int, actualBytes: Int)
    case overlap(path: String, tensor: String, other: String)
    case missingTensor(name: String)
    case duplicateTensor(name: String)
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    case dtypeMismatch(tensor: String, expected: String, actual: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .mapFailed(let p, let r): return "cannot map \(p): \(r)"
        case .allocationFailed(let b, let r): return "cannot allocate \(b) bytes: \(r)"
        case .fileNotFound(let p): return "file not found: \(p)"
        case .headerTooLarge(let p, let b, let l):
            return "\(p): safetensors header claims \(b) bytes (limit \(l)); file is corrupt or hostile"
        case .truncated(let p, let r): return "\(p): truncated file: \(r)"
        case .malformedHeader(let p, let r): return "\(p): malformed safetensors header: \(r)"
        case .unknownDType(let p, let t, let d): return "\(p): tensor '\(t)' has unknown dtype '\(d)'"
        case .badOffsets(let p, let t, let r): return "\(p): tensor '\(t)' has bad data offsets: \(r)"
        case .sizeMismatch(let p, let t, let e, let a):
            return "\(p): tensor '\(t)' shape x dtype needs \(e) bytes but its offsets span \(a)"
        case .overlap(let p, let t, let o): return "\(p): tensor '\(t)' overlaps tensor '\(o)'"
        case .missingTensor(let n): return "missing tensor '\(n)'"
        case .duplicateTensor(let n): return "tensor '\(n)' appears in more than one shard"
        case .shapeMismatch(let t, let e, let a): return "tensor '\(t)' has shape \(a), expected \(e)"
        case .dtypeMismatch(let t, let e, let a): return "tensor '\(t)' has dtype \(a), expected \(e)"
        case .writeFailed(let p, let r): return "cannot write \(p): \(r)"
        }
    }
}
