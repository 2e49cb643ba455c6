import EarshotTensor

/// How a stored tensor's elements are encoded.
public enum StoredType: Sendable, Equatable, CustomStringConvertible {
    case float(DType)
    case quantized(QuantFormat)
    /// int8 with one float32 scale per row (CTranslate2): value = q / scale[row].
    case scaledInt8
    /// A type Earshot does not compute with (named for the error message).
    case other(String)

    public var description: String {
        switch self {
        case .float(let d): return d.rawValue
        case .quantized(let f): return f.rawValue
        case .scaledInt8: return "int8 (row-scaled)"
        case .other(let name): return name
        }
    }
}

/// One tensor of a weight file, read in place from its mapping.
public struct StoredTensor: @unchecked Sendable {
    // @unchecked: points into a read-only mapping owned by `storage`.
    public let shape: [Int]
    public let type: StoredType
    public let data: UnsafeRawPointer
    public let byteCount: Int
    /// The mapping the bytes live in (to release pages after a conversion).
    public let storage: PageBuffer
    /// `.scaledInt8` only: one float32 scale per row (`shape[0]` values, possibly unaligned).
    public var scales: UnsafeRawPointer? = nil
}

/// A mapped checkpoint a `WeightStore` can bind: a safetensors directory or a GGUF file.
public protocol WeightFile: AnyObject, Sendable {
    /// Tensor names, sorted.
    var tensorNames: [String] { get }
    /// Shape (row-major, outermost first) and type of `name`, without touching its bytes.
    func describe(_ name: String) -> (shape: [Int], type: StoredType)?
    func stored(_ name: String) throws(ModelError) -> StoredTensor
    var mappedBytes: Int { get }
    /// Whether float matrices may be computed on in place: false when the format does not align
    /// tensor data (CTranslate2 packs variables back to back), so they are copied to the f32 arena.
    var alignsTensorData: Bool { get }
    func close()
}

extension WeightFile {
    public var alignsTensorData: Bool { true }
}

extension SafeTensorsArchive: WeightFile {
    public var tensorNames: [String] { names }

    public func describe(_ name: String) -> (shape: [Int], type: StoredType)? {
        entry(name).map { ($0.shape, .float($0.dtype)) }
    }

    public func stored(_ name: String) throws(ModelError) -> StoredTensor {
        let t: SafeTensor
        do { t = try tensor(name) } catch { throw .weights(error) }
        return StoredTensor(shape: t.shape, type: .float(t.dtype), data: t.data, byteCount: t.byteCount, storage: t.storage)
    }
}

extension GGUFFile: WeightFile {
    public var tensorNames: [String] { tensors.map(\.name).sorted() }

    static func storedType(_ t: GGMLType) -> StoredType {
        switch t {
        case .f32: return .float(.f32)
        case .f16: return .float(.f16)
        case .bf16: return .float(.bf16)
        case .q8_0: return .quantized(.q8_0)
        case .q4_1: return .quantized(.q4_1)
        default: return .other("\(t)")
        }
    }

    public func describe(_ name: String) -> (shape: [Int], type: StoredType)? {
        tensor(named: name).map { ($0.shape, Self.storedType($0.type)) }
    }

    public func stored(_ name: String) throws(ModelError) -> StoredTensor {
        guard let info = tensor(named: name) else { throw .missingTensor(name: name) }
        let bytes: UnsafeRawBufferPointer
        do { bytes = try data(of: info) } catch { throw .container(error) }
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw .unsupportedDType(tensor: name, dtype: "empty") }
        return StoredTensor(shape: info.shape, type: Self.storedType(info.type), data: base,
                            byteCount: bytes.count, storage: storage)
    }

    public var mappedBytes: Int { storage.mappedBytes }
}
