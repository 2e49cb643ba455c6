/// A bounds-checked reader of the protobuf wire format, over one message's bytes in a mapped file.
///
/// Only what an ONNX file needs: fields are (number, wire type) tags followed by a varint, a
/// fixed 32/64-bit value, or a length-delimited byte run (strings, bytes, packed arrays, nested
/// messages). Groups (wire types 3 and 4, deprecated) are refused. Every length is checked against
/// the bytes left in the enclosing message before it is used, so a hostile length can neither read
/// past the mapping nor make the parser reserve memory; `offset` is absolute in the file, for
/// error messages.
struct ProtobufReader {
    enum WireType: UInt8 { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

    /// One field's tag and where its payload starts.
    struct Field {
        let number: Int
        let wireType: WireType
        let offset: Int
    }

    let base: UnsafeRawPointer
    let path: String
    /// Absolute file offsets: the message spans [offset, end).
    private(set) var offset: Int
    let end: Int

    init(base: UnsafeRawPointer, start: Int, end: Int, path: String) {
        self.base = base
        self.offset = start
        self.end = end
        self.path = path
    }

    var atEnd: Bool { offset >= end }

    /// The next field's tag; nil at the end of the message.
    mutating func nextField(in message: String) throws(ONNXError) -> Field? {
        guard offset < end else { return nil }
        let at = offset
        let tag = try varint(in: message)
        let number = tag >> 3
        guard number > 0, number <= 536_870_911 else {
            throw .malformed(path: path, offset: at, reason: "\(message): field number \(number) is out of range")
        }
        guard let type = WireType(rawValue: UInt8(tag & 7)) else {
            throw .malformed(path: path, offset: at, reason: "\(message): field \(number) has unsupported wire type \(tag & 7)")
        }
        return Field(number: Int(number), wireType: type, offset: at)
    }

    /// A base-128 varint of at most 10 bytes.
    mutating func varint(in message: String) throws(ONNXError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            guard offset < end else { throw .truncated(path: path, offset: start, what: "a varint in \(message)") }
            let byte = base.load(fromByteOffset: offset, as: UInt8.self)
            offset += 1
            guard shift < 64, !(shift == 63 && byte > 1) else {
                throw .malformed(path: path, offset: start, reason: "\(message): varint longer than 64 bits")
            }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// A varint read as a signed 64-bit integer (protobuf int64/int32: two's complement).
    mutating func int64(in message: String) throws(ONNXError) -> Int64 {
        Int64(bitPattern: try varint(in: message))
    }

    /// A length-delimited payload: its absolute byte range, with the reader moved past it.
    mutating func lengthDelimited(in message: String) throws(ONNXError) -> Range<Int> {
        let at = offset
        let length = try varint(in: message)
        guard length <= UInt64(end - offset) else {
            throw .truncated(path: path, offset: at, what: "\(length) bytes of a field in \(message)")
        }
        let range = offset..<(offset + Int(length))
        offset = range.upperBound
        return range
    }

    /// A UTF-8 string field of at most `limit` bytes.
    mutating func string(in message: String, limit: Int = 4096) throws(ONNXError) -> String {
        let at = offset
        let r = try lengthDelimited(in: message)
        guard r.count <= limit else {
            throw .malformed(path: path, offset: at, reason: "\(message): a string of \(r.count) bytes (at most \(limit))")
        }
        guard let s = String(validating: UnsafeRawBufferPointer(start: base + r.lowerBound, count: r.count), as: UTF8.self) else {
            throw .malformed(path: path, offset: at, reason: "\(message): a string that is not UTF-8")
        }
        return s
    }

    /// A little-endian 32-bit value (protobuf float / fixed32).
    mutating func fixed32(in message: String) throws(ONNXError) -> UInt32 {
        guard end - offset >= 4 else { throw .truncated(path: path, offset: offset, what: "a 32-bit value in \(message)") }
        let v = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        offset += 4
        return v
    }

    /// Steps over a field's payload.
    mutating func skip(_ field: Field, in message: String) throws(ONNXError) {
        switch field.wireType {
        case .varint: _ = try varint(in: message)
        case .lengthDelimited: _ = try lengthDelimited(in: message)
        case .fixed32: _ = try fixed32(in: message)
        case .fixed64:
            guard end - offset >= 8 else { throw .truncated(path: path, offset: offset, what: "a 64-bit value in \(message)") }
            offset += 8
        }
    }

    /// A reader over a nested message's bytes.
    func nested(_ range: Range<Int>) -> ProtobufReader {
        ProtobufReader(base: base, start: range.lowerBound, end: range.upperBound, path: path)
    }

    /// Repeated int64 values: packed (one length-delimited run of varints) or one unpacked varint,
    /// appended to `values`, refusing more than `limit` in all.
    mutating func int64s(_ field: Field, into values: inout [Int64], limit: Int, in message: String) throws(ONNXError) {
        func add(_ v: Int64) throws(ONNXError) {
            guard values.count < limit else {
                throw .malformed(path: path, offset: field.offset, reason: "\(message): more than \(limit) integers")
            }
            values.append(v)
        }
        switch field.wireType {
        case .varint: try add(try int64(in: message))
        case .lengthDelimited:
            var packed = nested(try lengthDelimited(in: message))
            while !packed.atEnd { try add(try packed.int64(in: message)) }
        case .fixed32, .fixed64:
            throw .malformed(path: path, offset: field.offset, reason: "\(message): field \(field.number) should hold integers")
        }
    }
}
