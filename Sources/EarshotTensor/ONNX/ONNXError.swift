/// Errors from reading an ONNX model file (`ONNXFile`). Every case names the file and, where there
/// is one, the byte offset, tensor or node at fault.
public enum ONNXError: Error, Sendable, Equatable, CustomStringConvertible {
    case fileNotFound(path: String)
    case cannotMap(path: String, reason: String)
    /// A read would pass the end of the enclosing message or file.
    case truncated(path: String, offset: Int, what: String)
    /// Bytes that are not a well-formed ONNX protobuf (bad tag, overlong varint, bad string, limits).
    case malformed(path: String, offset: Int, reason: String)
    /// A tensor whose element type, shape or storage the reader does not take (external data,
    /// typed fields other than raw/float/int64, a byte count that disagrees with the shape).
    case badTensor(path: String, tensor: String, reason: String)
    case duplicateTensor(path: String, tensor: String)
    /// The graph is not the one the caller expects (`node` names the node, or "graph").
    case unexpectedGraph(path: String, node: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let p): return "file not found: \(p)"
        case .cannotMap(let p, let r): return "cannot map \(p): \(r)"
        case .truncated(let p, let o, let w): return "\(p): truncated ONNX file: \(w) at offset \(o) runs past its end"
        case .malformed(let p, let o, let r): return "\(p): malformed ONNX file at offset \(o): \(r)"
        case .badTensor(let p, let t, let r): return "\(p): tensor '\(t)': \(r)"
        case .duplicateTensor(let p, let t): return "\(p): tensor '\(t)' appears more than once"
        case .unexpectedGraph(let p, let n, let r): return "\(p): unexpected graph at \(n): \(r)"
        }
    }
}
