extension ONNXFile {
    /// Reads one `TensorProto`: dims (1), data_type (2), float_data (4, packed), int64_data (7),
    /// name (8), raw_data (9), data_location (14: 1 = external, refused). float32 keeps its byte
    /// range; int64 (small constants) is decoded.
    static func tensor(_ r: inout ProtobufReader) throws(ONNXError) -> ONNXTensor {
        var dims: [Int64] = []
        var dataType: Int32 = 0
        var name = ""
        var raw: Range<Int>?
        var packedFloats: Range<Int>?
        var int64Data: [Int64] = []
        var external = false
        let start = r.offset
        while let f = try r.nextField(in: "TensorProto") {
            switch (f.number, f.wireType) {
            case (1, .varint), (1, .lengthDelimited):
                try r.int64s(f, into: &dims, limit: maxRank, in: "TensorProto dims")
            case (2, .varint):
                let t = try r.int64(in: "TensorProto")
                dataType = Int32(clamping: t)
            case (4, .lengthDelimited): packedFloats = try r.lengthDelimited(in: "TensorProto")
            case (4, .fixed32):
                throw .malformed(path: r.path, offset: f.offset, reason: "unpacked float_data is not supported")
            case (7, .varint), (7, .lengthDelimited):
                try r.int64s(f, into: &int64Data, limit: maxInt64Elements, in: "TensorProto int64_data")
            case (8, .lengthDelimited): name = try r.string(in: "TensorProto")
            case (9, .lengthDelimited): raw = try r.lengthDelimited(in: "TensorProto")
            case (14, .varint): external = try r.int64(in: "TensorProto") == 1
            default: try r.skip(f, in: "TensorProto")
            }
        }
        let label = name.isEmpty ? "<unnamed at offset \(start)>" : name
        func bad(_ reason: String) -> ONNXError { .badTensor(path: r.path, tensor: label, reason: reason) }
        guard !external else { throw bad("its data is in an external file (not supported)") }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard d >= 0, d <= Int64(Int32.max) else { throw bad("dimension \(d) is out of range") }
            let (m, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow, m <= Int(Int32.max) else { throw bad("shape \(dims) has too many elements") }
            count = m
            shape.append(Int(d))
        }
        switch dataType {
        case ONNXTensor.float32:
            guard let bytes = raw ?? packedFloats else {
                if count == 0 { return ONNXTensor(name: name, shape: shape, dataType: dataType, offset: 0, byteCount: 0, int64Values: []) }
                throw bad("float32 data is neither raw_data nor packed float_data")
            }
            guard bytes.count == count * 4 else { throw bad("\(bytes.count) data bytes for shape \(shape) (\(count * 4) expected)") }
            return ONNXTensor(name: name, shape: shape, dataType: dataType, offset: bytes.lowerBound,
                              byteCount: bytes.count, int64Values: [])
        case ONNXTensor.int64:
            guard count <= maxInt64Elements else { throw bad("an int64 tensor of \(count) elements (at most \(maxInt64Elements) read)") }
            var values = int64Data
            if let raw {
                guard raw.count == count * 8 else { throw bad("\(raw.count) data bytes for shape \(shape) (\(count * 8) expected)") }
                values = (0..<count).map { i in
                    Int64(littleEndian: r.base.loadUnaligned(fromByteOffset: raw.lowerBound + 8 * i, as: Int64.self))
                }
            }
            guard values.count == count else { throw bad("\(values.count) int64 values for shape \(shape)") }
            return ONNXTensor(name: name, shape: shape, dataType: dataType, offset: 0, byteCount: 0, int64Values: values)
        default:
            throw bad("data type \(dataType) is not supported (float32 and int64 are)")
        }
    }
}
