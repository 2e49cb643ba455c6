import EarshotTensor

/// A CTranslate2 `model.bin` as a `WeightFile`. Variables are tensors; aliases (the tied output
/// projection) are not listed. An int8 variable with a float32 `<name>_scale` of one value per
/// row is `.scaledInt8`; rank-0 variables are configuration scalars (`encoder/num_heads`...).
extension CTranslate2File: WeightFile {
    public var tensorNames: [String] { variableNames }
    public var alignsTensorData: Bool { false }

    public func describe(_ name: String) -> (shape: [Int], type: StoredType)? {
        guard variableNames.contains(name), let v = variable(name) else { return nil }
        return (v.shape, storedType(v))
    }

    private func storedType(_ v: CTranslate2Variable) -> StoredType {
        switch v.dtype {
        case .float32: return .float(.f32)
        case .float16: return .float(.f16)
        case .bfloat16: return .float(.bf16)
        case .int8:
            guard v.shape.count == 2, let s = variable(v.name + "_scale"), s.dtype == .float32, s.shape == [v.shape[0]] else {
                return .other("int8 without a per-row float32 '\(v.name)_scale'")
            }
            return .scaledInt8
        case .int16: return .other("int16")
        case .int32: return .other("int32")
        }
    }

    public func stored(_ name: String) throws(ModelError) -> StoredTensor {
        guard let v = variable(name) else { throw .missingTensor(name: name) }
        let bytes = data(v)
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw .unsupportedDType(tensor: name, dtype: "empty") }
        let type = storedType(v)
        var t = StoredTensor(shape: v.shape, type: type, data: base, byteCount: bytes.count, storage: storage)
        if case .scaledInt8 = type, let s = variable(name + "_scale") {
            t.scales = data(s).baseAddress
        }
        return t
    }
}
