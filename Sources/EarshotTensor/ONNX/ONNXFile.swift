/// One initializer of an ONNX graph.
public struct ONNXTensor: Sendable, Equatable {
    public static let float32: Int32 = 1
    public static let int64: Int32 = 7

    public let name: String
    public let shape: [Int]
    /// TensorProto.DataType: 1 float32, 7 int64 (the only two read).
    public let dataType: Int32
    /// float32: where the little-endian values lie in the file (raw_data or packed float_data).
    /// Not aligned: protobuf packs fields back to back.
    public let offset: Int
    public let byteCount: Int
    /// int64: the values, decoded (small constants only: at most `ONNXFile.maxInt64Elements`).
    public let int64Values: [Int64]

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A node attribute: the fields Earshot reads (ints, int, float, string).
public struct ONNXAttribute: Sendable, Equatable {
    public var int: Int64?
    public var ints: [Int64] = []
    public var float: Float?
    public var string: String?
}

public struct ONNXNode: Sendable, Equatable {
    public var name = ""
    public var opType = ""
    public var inputs: [String] = []
    public var outputs: [String] = []
    public var attributes: [String: ONNXAttribute] = [:]
}

/// A graph input or output: its name and dimensions (nil where symbolic).
public struct ONNXValueInfo: Sendable, Equatable {
    public var name = ""
    public var dims: [Int?] = []
}

/// A reader of ONNX model files (`ModelProto`, protobuf) for small fixed graphs such as Silero VAD:
/// the nodes in order, the graph's inputs and outputs, and the initializers (float32 data in place
/// in the mapping, int64 constants decoded). No operator is executed here; the caller checks the
/// graph it expects and reads the weights.
///
/// Strict and bounded: every length is checked against its enclosing message, node, initializer,
/// rank and string counts have limits, shapes must match byte counts, and external data (a weight
/// in another file) is refused. The file is mapped once through a `PageBuffer` (`.weights`).
public final class ONNXFile: Sendable {
    public static let maxNodes = 100_000
    public static let maxTensors = 100_000
    public static let maxRank = 8
    public static let maxInt64Elements = 1024
    public static let maxNodeIO = 64

    public let path: String
    public let storage: PageBuffer
    public let irVersion: Int64
    /// Default-domain opset version (0 if the file names none).
    public let opsetVersion: Int64
    public let nodes: [ONNXNode]
    public let inputs: [ONNXValueInfo]
    public let outputs: [ONNXValueInfo]
    public let tensors: [String: ONNXTensor]

    public init(path: String) throws(ONNXError) {
        self.path = path
        let storage: PageBuffer
        do throws(TensorError) {
            storage = try PageBuffer(mappingFile: path, owner: .weights)
        } catch {
            if case .fileNotFound = error { throw .fileNotFound(path: path) }
            throw .cannotMap(path: path, reason: error.description)
        }
        self.storage = storage
        let parsed = try Self.parse(UnsafeRawBufferPointer(start: storage.raw, count: storage.byteCount), path: path)
        irVersion = parsed.irVersion
        opsetVersion = parsed.opset
        nodes = parsed.nodes
        inputs = parsed.inputs
        outputs = parsed.outputs
        tensors = parsed.tensors
    }

    /// The float32 bytes of `t`, in place in the mapping (unaligned), valid until `close()`.
    public func data(_ t: ONNXTensor) -> UnsafeRawBufferPointer {
        guard storage.isOpen, t.dataType == ONNXTensor.float32, t.offset >= 0, t.offset <= storage.byteCount - t.byteCount else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: storage.raw + t.offset, count: t.byteCount)
    }

    /// Unmaps the file (pointers from `data` become invalid). Idempotent.
    public func close() { storage.close() }

    // MARK: - Parsing

    struct Parsed {
        var irVersion: Int64 = 0
        var opset: Int64 = 0
        var nodes: [ONNXNode] = []
        var inputs: [ONNXValueInfo] = []
        var outputs: [ONNXValueInfo] = []
        var tensors: [String: ONNXTensor] = [:]
    }

    /// `buf` is the whole file image (non-nil base address).
    static func parse(_ buf: UnsafeRawBufferPointer, path: String) throws(ONNXError) -> Parsed {
        var r = ProtobufReader(base: buf.baseAddress!, start: 0, end: buf.count, path: path)
        var p = Parsed()
        var sawGraph = false
        while let f = try r.nextField(in: "ModelProto") {
            switch (f.number, f.wireType) {
            case (1, .varint): p.irVersion = try r.int64(in: "ModelProto")
            case (8, .lengthDelimited):
                var o = r.nested(try r.lengthDelimited(in: "ModelProto"))
                var domain = "", version: Int64 = 0
                while let g = try o.nextField(in: "OperatorSetId") {
                    switch (g.number, g.wireType) {
                    case (1, .lengthDelimited): domain = try o.string(in: "OperatorSetId")
                    case (2, .varint): version = try o.int64(in: "OperatorSetId")
                    default: try o.skip(g, in: "OperatorSetId")
                    }
                }
                if domain.isEmpty || domain == "ai.onnx" { p.opset = version }
            case (7, .lengthDelimited):
                guard !sawGraph else { throw .malformed(path: path, offset: f.offset, reason: "more than one graph") }
                sawGraph = true
                var g = r.nested(try r.lengthDelimited(in: "ModelProto"))
                try graph(&g, into: &p)
            default: try r.skip(f, in: "ModelProto")
            }
        }
        guard sawGraph else { throw .malformed(path: path, offset: 0, reason: "no graph (is this an ONNX model?)") }
        return p
    }

    private static func graph(_ r: inout ProtobufReader, into p: inout Parsed) throws(ONNXError) {
        while let f = try r.nextField(in: "GraphProto") {
            switch (f.number, f.wireType) {
            case (1, .lengthDelimited):
                guard p.nodes.count < maxNodes else { throw .malformed(path: r.path, offset: f.offset, reason: "more than \(maxNodes) nodes") }
                var n = r.nested(try r.lengthDelimited(in: "GraphProto"))
                p.nodes.append(try node(&n))
            case (5, .lengthDelimited):
                guard p.tensors.count < maxTensors else {
                    throw .malformed(path: r.path, offset: f.offset, reason: "more than \(maxTensors) initializers")
                }
                var t = r.nested(try r.lengthDelimited(in: "GraphProto"))
                let tensor = try self.tensor(&t)
                guard p.tensors[tensor.name] == nil else { throw .duplicateTensor(path: r.path, tensor: tensor.name) }
                p.tensors[tensor.name] = tensor
            case (11, .lengthDelimited), (12, .lengthDelimited):
                guard p.inputs.count + p.outputs.count < maxNodeIO else {
                    throw .malformed(path: r.path, offset: f.offset, reason: "more than \(maxNodeIO) graph inputs and outputs")
                }
                var v = r.nested(try r.lengthDelimited(in: "GraphProto"))
                let info = try valueInfo(&v)
                if f.number == 11 { p.inputs.append(info) } else { p.outputs.append(info) }
            default: try r.skip(f, in: "GraphProto")
            }
        }
    }

    private static func node(_ r: inout ProtobufReader) throws(ONNXError) -> ONNXNode {
        var n = ONNXNode()
        while let f = try r.nextField(in: "NodeProto") {
            switch (f.number, f.wireType) {
            case (1, .lengthDelimited), (2, .lengthDelimited):
                guard n.inputs.count + n.outputs.count < maxNodeIO else {
                    throw .malformed(path: r.path, offset: f.offset, reason: "a node with more than \(maxNodeIO) inputs and outputs")
                }
                let name = try r.string(in: "NodeProto")
                if f.number == 1 { n.inputs.append(name) } else { n.outputs.append(name) }
            case (3, .lengthDelimited): n.name = try r.string(in: "NodeProto")
            case (4, .lengthDelimited): n.opType = try r.string(in: "NodeProto")
            case (5, .lengthDelimited):
                guard n.attributes.count < maxNodeIO else {
                    throw .malformed(path: r.path, offset: f.offset, reason: "a node with more than \(maxNodeIO) attributes")
                }
                var a = r.nested(try r.lengthDelimited(in: "NodeProto"))
                let (name, value) = try attribute(&a)
                n.attributes[name] = value
            default: try r.skip(f, in: "NodeProto")
            }
        }
        return n
    }

    private static func attribute(_ r: inout ProtobufReader) throws(ONNXError) -> (String, ONNXAttribute) {
        var name = "", a = ONNXAttribute()
        while let f = try r.nextField(in: "AttributeProto") {
            switch (f.number, f.wireType) {
            case (1, .lengthDelimited): name = try r.string(in: "AttributeProto")
            case (2, .fixed32): a.float = Float(bitPattern: try r.fixed32(in: "AttributeProto"))
            case (3, .varint): a.int = try r.int64(in: "AttributeProto")
            case (4, .lengthDelimited): a.string = try r.string(in: "AttributeProto", limit: 1 << 16)
            case (8, .varint), (8, .lengthDelimited):
                try r.int64s(f, into: &a.ints, limit: maxInt64Elements, in: "AttributeProto")
            default: try r.skip(f, in: "AttributeProto")   // graphs, tensors, float lists: not read
            }
        }
        return (name, a)
    }

    private static func valueInfo(_ r: inout ProtobufReader) throws(ONNXError) -> ONNXValueInfo {
        var v = ONNXValueInfo()
        while let f = try r.nextField(in: "ValueInfoProto") {
            guard f.wireType == .lengthDelimited, f.number == 1 || f.number == 2 else { try r.skip(f, in: "ValueInfoProto"); continue }
            if f.number == 1 { v.name = try r.string(in: "ValueInfoProto"); continue }
            // TypeProto.tensor_type (1) -> TypeProto.Tensor.shape (2) -> TensorShapeProto.dim (1).
            var type = r.nested(try r.lengthDelimited(in: "ValueInfoProto"))
            while let t = try type.nextField(in: "TypeProto") {
                guard t.number == 1, t.wireType == .lengthDelimited else { try type.skip(t, in: "TypeProto"); continue }
                var tensor = type.nested(try type.lengthDelimited(in: "TypeProto"))
                while let s = try tensor.nextField(in: "TypeProto.Tensor") {
                    guard s.number == 2, s.wireType == .lengthDelimited else { try tensor.skip(s, in: "TypeProto.Tensor"); continue }
                    var shape = tensor.nested(try tensor.lengthDelimited(in: "TypeProto.Tensor"))
                    while let d = try shape.nextField(in: "TensorShapeProto") {
                        guard d.number == 1, d.wireType == .lengthDelimited else { try shape.skip(d, in: "TensorShapeProto"); continue }
                        guard v.dims.count < maxRank else {
                            throw .malformed(path: r.path, offset: d.offset, reason: "a value with more than \(maxRank) dimensions")
                        }
                        var dim = shape.nested(try shape.lengthDelimited(in: "TensorShapeProto"))
                        var value: Int?
                        while let e = try dim.nextField(in: "Dimension") {
                            if e.number == 1, e.wireType == .varint {
                                let x = try dim.int64(in: "Dimension")
                                value = x >= 0 && x <= Int64(Int32.max) ? Int(x) : nil
                            } else {
                                try dim.skip(e, in: "Dimension")
                            }
                        }
                        v.dims.append(value)
                    }
                }
            }
        }
        return v
    }
}
