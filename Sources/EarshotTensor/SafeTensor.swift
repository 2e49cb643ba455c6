/// One tensor inside a mapped safetensors file: a zero-copy view of its bytes.
///
/// The view keeps its file's `PageBuffer` alive, so it stays valid as long as the view exists
/// (unless the owner explicitly closes the mapping).
public struct SafeTensor: @unchecked Sendable {
    // @unchecked: `data` is a pointer into an immutable, read-only file mapping kept alive by `storage`.
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Start of the tensor's bytes inside the mapping, aligned to `dtype.size`.
    public let data: UnsafeRawPointer
    public let byteCount: Int
    public let storage: PageBuffer

    public var elementCount: Int { byteCount / dtype.size }

    /// The bytes as bf16 bit patterns. Precondition-free: callers check `dtype` first.
    public var bf16: UnsafePointer<UInt16> { data.assumingMemoryBound(to: UInt16.self) }
    public var f32: UnsafePointer<Float> { data.assumingMemoryBound(to: Float.self) }

    /// Checks dtype and shape, naming the tensor on mismatch.
    public func expect(shape expected: [Int], dtype expectedType: DType? = nil) throws(TensorError) {
        guard shape == expected else { throw .shapeMismatch(tensor: name, expected: expected, actual: shape) }
        if let expectedType, dtype != expectedType {
            throw .dtypeMismatch(tensor: name, expected: expectedType.rawValue, actual: dtype.rawValue)
        }
    }

    /// Copies the values converted to Float (F32/F16/BF16/I32/I64/U8). For tests and small tensors.
    public func floatArray() -> [Float] {
        let n = elementCount
        var out = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { dst in
            for i in 0..<n {
                switch dtype {
                case .f32: dst[i] = data.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
                case .bf16:
                    let bits = data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                    dst[i] = Float(bitPattern: UInt32(bits) << 16)
                case .f16:
                    let bits = data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                    dst[i] = Float(Float16(bitPattern: bits))
                case .i32: dst[i] = Float(data.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
                case .i64: dst[i] = Float(data.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                case .u8: dst[i] = Float(data.load(fromByteOffset: i, as: UInt8.self))
                }
            }
        }
        return out
    }

    /// Copies integer values (I64/I32/U8; float values are truncated). For token ids in goldens.
    public func intArray() -> [Int] {
        if dtype.isFloatingPoint { return floatArray().map { Int($0) } }
        return (0..<elementCount).map { i in
            switch dtype {
            case .i64: return Int(data.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
            case .i32: return Int(data.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
            default: return Int(data.load(fromByteOffset: i, as: UInt8.self))
            }
        }
    }
}
