/// A small JSON reader for tokenizer files.
///
/// Foundation's `JSONSerialization` is avoided on purpose: it reports no line numbers, its
/// speed and error behaviour differ between Darwin and Linux, and it bridges every key of a
/// 151k-entry vocabulary through `NSString`. This reader works on raw bytes, keeps object
/// members in file order (an array of members is cheaper to build than a dictionary and lets
/// errors point at the member's line), and validates UTF-8 inside strings.
struct JSONNode: Sendable {
    var value: JSONValue
    /// 1-based line on which the value starts.
    var line: Int
}

struct JSONMember: Sendable {
    var key: String
    var node: JSONNode
}

enum JSONValue: Sendable {
    case object([JSONMember])
    case array([JSONNode])
    case string(String)
    /// A number; `integer` is set when the literal is an integer that fits in `Int`.
    case number(Double, integer: Int?)
    case bool(Bool)
    case null
}

extension JSONNode {
    /// The first member named `key`, if this is an object that has it.
    subscript(key: String) -> JSONNode? {
        guard case .object(let members) = value else { return nil }
        return members.first { $0.key == key }?.node
    }

    var stringValue: String? {
        if case .string(let text) = value { return text }
        return nil
    }

    var intValue: Int? {
        if case .number(_, let integer) = value { return integer }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let flag) = value { return flag }
        return nil
    }
}

/// Recursive-descent parser over UTF-8 bytes.
struct JSONReader {
    /// Nesting deeper than this is rejected instead of risking a stack overflow.
    static let maximumDepth = 256

    private let bytes: [UInt8]
    private let path: String
    private var position = 0
    private var line = 1

    /// Parses a complete JSON document; `path` is only used in error messages.
    static func parse(_ bytes: [UInt8], path: String) throws(TokenizerError) -> JSONNode {
        var reader = JSONReader(bytes: bytes, path: path)
        reader.skipWhitespace()
        let node = try reader.parseValue(depth: 0)
        reader.skipWhitespace()
        if reader.position != bytes.count {
            throw reader.failure("unexpected content after the top-level value")
        }
        return node
    }

    private init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    private func failure(_ reason: String) -> TokenizerError {
        .malformedJSON(path: path, line: line, reason: reason)
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x0A: line += 1
            case 0x20, 0x09, 0x0D: break
            default: return
            }
            position += 1
        }
    }

    private mutating func parseValue(depth: Int) throws(TokenizerError) -> JSONNode {
        guard depth < Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth)") }
        guard position < bytes.count else { throw failure("unexpected end of file") }
        let startLine = line
        switch bytes[position] {
        case UInt8(ascii: "{"): return JSONNode(value: try parseObject(depth: depth), line: startLine)
        case UInt8(ascii: "["): return JSONNode(value: try parseArray(depth: depth), line: startLine)
        case UInt8(ascii: "\""): return JSONNode(value: .string(try parseString()), line: startLine)
        case UInt8(ascii: "t"): try expectWord("true"); return JSONNode(value: .bool(true), line: startLine)
        case UInt8(ascii: "f"): try expectWord("false"); return JSONNode(value: .bool(false), line: startLine)
        case UInt8(ascii: "n"): try expectWord("null"); return JSONNode(value: .null, line: startLine)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return JSONNode(value: try parseNumber(), line: startLine)
        default:
            throw failure("unexpected character \(describe(bytes[position]))")
        }
    }

    private func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    private mutating func expectWord(_ word: String) throws(TokenizerError) {
        let expected = Array(word.utf8)
        guard position + expected.count <= bytes.count,
              bytes[position..<(position + expected.count)].elementsEqual(expected) else {
            throw failure("invalid literal")
        }
        position += expected.count
    }

    private mutating func parseObject(depth: Int) throws(TokenizerError) -> JSONValue {
        position += 1  // {
        var members: [JSONMember] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw failure("expected a string key")
            }
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else {
                throw failure("expected ':' after key \(key.debugDescription)")
            }
            position += 1
            skipWhitespace()
            members.append(JSONMember(key: key, node: try parseValue(depth: depth + 1)))
            skipWhitespace()
            guard position < bytes.count else { throw failure("unexpected end of file in object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
            throw failure("expected ',' or '}' in object")
        }
    }

    private mutating func parseArray(depth: Int) throws(TokenizerError) -> JSONValue {
        position += 1  // [
        var elements: [JSONNode] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard position < bytes.count else { throw failure("unexpected end of file in array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
            throw failure("expected ',' or ']' in array")
        }
    }

    private mutating func parseNumber() throws(TokenizerError) -> JSONValue {
        let start = position
        var isInteger = true
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        let digitsStart = position
        while position < bytes.count {
            let byte = bytes[position]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                position += 1
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                        || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                isInteger = false
                position += 1
            } else {
                break
            }
        }
        guard position > digitsStart else { throw failure("invalid number") }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        guard let double = Double(text) else { throw failure("invalid number \(text)") }
        return .number(double, integer: isInteger ? Int(text) : nil)
    }

    /// Parses a string starting at the opening quote.
    private mutating func parseString() throws(TokenizerError) -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes, the string is a slice of the file.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let slice = bytes[start..<position]
                position += 1
                guard let text = String(validating: slice, as: UTF8.self) else {
                    throw TokenizerError.invalidUTF8(path: path, line: line)
                }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("control character in string") }
            position += 1
        }
        var buffer = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                guard let text = String(validating: buffer, as: UTF8.self) else {
                    throw TokenizerError.invalidUTF8(path: path, line: line)
                }
                return text
            }
            if byte < 0x20 { throw failure("control character in string") }
            if byte != UInt8(ascii: "\\") {
                buffer.append(byte)
                position += 1
                continue
            }
            try appendEscape(to: &buffer)
        }
        throw failure("unterminated string")
    }

    /// Decodes the escape sequence at `position` (a backslash) into UTF-8 bytes.
    private mutating func appendEscape(to buffer: inout [UInt8]) throws(TokenizerError) {
        guard position + 1 < bytes.count else { throw failure("unterminated escape") }
        let code = bytes[position + 1]
        position += 2
        switch code {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(code)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
            var value = try parseHex4()
            if (0xD800...0xDBFF).contains(value), position + 1 < bytes.count,
               bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
                let saved = position
                position += 2
                let low = try parseHex4()
                if (0xDC00...0xDFFF).contains(low) {
                    value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    position = saved  // not a pair: the high surrogate stands alone
                }
            }
            // A lone surrogate cannot be represented in a Swift String: use U+FFFD.
            let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
            buffer.append(contentsOf: String(scalar).utf8)
        default:
            throw failure("invalid escape '\\\(Character(Unicode.Scalar(code)))'")
        }
    }

    private mutating func parseHex4() throws(TokenizerError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = bytes[position + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        position += 4
        return value
    }
}
