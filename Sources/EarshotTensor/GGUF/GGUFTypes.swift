/// Tensor element types of GGUF files (ggml's `ggml_type`), limited to the ones whose layout is
/// a plain scalar or a 32-element block. The raw values are the on-disk numbers and must not change.
///
/// Quantized types store their elements in blocks; the layouts are ggml's:
/// - `q4_0`: `{ f16 d; u8 qs[16] }` — 32 4-bit values, one scale.
/// - `q4_1`: `{ f16 d; f16 m; u8 qs[16] }` — 32 4-bit values, scale and minimum.
/// - `q5_0`: `{ f16 d; u8 qh[4]; u8 qs[16] }`, `q5_1`: `{ f16 d; f16 m; u8 qh[4]; u8 qs[16] }`.
/// - `q8_0`: `{ f16 d; i8 qs[32] }`.
/// Earshot only moves their bytes; decoding them is a kernel's concern.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case i8 = 24
    case i16 = 25
    case i32 = 26
    case i64 = 27
    case f64 = 28
    case bf16 = 30

    /// Elements per block: 1 for scalar types, 32 for the block-quantized ones.
    public var blockSize: Int {
        switch self {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        default: return 1
        }
    }

    /// Bytes per block (per element for scalar types).
    public var bytesPerBlock: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8: return 1
        case .i64, .f64: return 8
        case .q4_0: return 2 + 16
        case .q4_1: return 2 + 2 + 16
        case .q5_0: return 2 + 4 + 16
        case .q5_1: return 2 + 2 + 4 + 16
        case .q8_0: return 2 + 32
        }
    }

    public var isQuantized: Bool { blockSize > 1 }

    /// Bytes needed for `elements` values, or nil if `elements` is negative, not a whole number of
    /// blocks, or the byte count overflows `Int`.
    public func byteCountIfValid(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }

    /// Bytes needed for `elements` values; throws (naming `tensor`) on a partial block or overflow.
    public func byteCount(elements: Int, tensor: String = "", path: String = "") throws(GGUFError) -> Int {
        guard let bytes = byteCountIfValid(elements: elements) else {
            let why = elements < 0 ? "negative element count \(elements)"
                : elements % blockSize != 0 ? "\(elements) elements is not a multiple of \(self)'s block of \(blockSize)"
                : "\(elements) elements of \(self) overflow the byte count"
            throw .badDimensions(path: path, tensor: tensor, reason: why)
        }
        return bytes
    }

    /// ggml's name for the type ("F32", "Q8_0", ...), as gguf tools print it.
    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .f64: return "F64"
        }
    }
}

/// The on-disk type tags of GGUF metadata values.
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6
    case bool = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Encoded size of one value of this type, or the minimum for variable-sized ones (a string is
    /// at least its 8-byte length; an array at least its 4-byte element type and 8-byte count).
    /// The reader uses it to refuse counts the remaining bytes cannot hold before allocating.
    var minimumEncodedSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64, .string: return 8
        case .array: return 12
        }
    }
}

/// A GGUF metadata value. Arrays carry their element type so that an empty array round-trips
/// exactly and the writer can refuse mixed arrays (the format has one element type per array).
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFValueType, [GGUFValue])

    /// An array of strings (tokenizer vocabularies, merges).
    public static func strings(_ values: [String]) -> GGUFValue { .array(.string, values.map { .string($0) }) }

    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .uint64: return .uint64
        case .int64: return .int64
        case .float32: return .float32
        case .float64: return .float64
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        }
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }

    /// Any integer type whose value fits in `Int`.
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// Either float type (integers are not silently converted).
    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return nil
        }
    }

    public var array: [GGUFValue]? { if case .array(_, let a) = self { a } else { nil } }

    /// The elements of an array of strings; nil for anything else.
    public var stringArray: [String]? {
        guard case .array(.string, let a) = self else { return nil }
        return a.compactMap(\.string)
    }

    /// The elements of an array of integers that all fit in `Int`; nil otherwise.
    public var intArray: [Int]? {
        guard let a = array else { return nil }
        var out: [Int] = []
        out.reserveCapacity(a.count)
        for v in a {
            guard let i = v.int else { return nil }
            out.append(i)
        }
        return out
    }

    /// The elements of an array of floats (float32 or float64) as `Float`; nil otherwise.
    public var floatArray: [Float]? {
        guard let a = array else { return nil }
        var out: [Float] = []
        out.reserveCapacity(a.count)
        for v in a {
            guard let d = v.double else { return nil }
            out.append(Float(d))
        }
        return out
    }
}
