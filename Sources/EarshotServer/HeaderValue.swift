/// A header value of the form `token; name=value; name="quoted \"value\""` (Content-Type and
/// Content-Disposition): the leading token and its parameters, with quotes and backslash escapes
/// removed and parameter names lowercased.
struct HeaderValue: Sendable {
    struct ParseError: Error, Equatable {
        var reason: String
    }

    var value: String
    var parameters: [(name: String, value: String)]

    /// The value of the parameter with this (lowercase) name.
    func parameter(_ name: String) -> String? { parameters.first { $0.name == name }?.value }

    /// RFC 9110 `tchar`: the bytes allowed in header names, media types and parameter names.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    static func parse(_ text: String) throws(ParseError) -> HeaderValue {
        let bytes = Array(text.utf8)
        var i = 0
        func skipOWS() { while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 } }
        func string(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

        skipOWS()
        let valueStart = i
        while i < bytes.count, bytes[i] != UInt8(ascii: ";") { i += 1 }
        var valueEnd = i
        while valueEnd > valueStart, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
        guard valueEnd > valueStart else { throw ParseError(reason: "empty value") }
        var result = HeaderValue(value: string(valueStart..<valueEnd), parameters: [])

        while i < bytes.count {
            i += 1 // The `;` before this parameter.
            skipOWS()
            if i == bytes.count || bytes[i] == UInt8(ascii: ";") { continue } // An empty parameter (`a;;b`, `a;`).
            let nameStart = i
            while i < bytes.count, isTokenByte(bytes[i]) { i += 1 }
            guard i > nameStart else { throw ParseError(reason: "invalid parameter name") }
            let name = string(nameStart..<i).lowercased()
            skipOWS()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else {
                throw ParseError(reason: "parameter '\(name.prefix(50))' has no value")
            }
            i += 1
            skipOWS()
            var value: [UInt8] = []
            if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
                // quoted-string: `\` escapes the next byte; the closing quote is required.
                i += 1
                var closed = false
                while i < bytes.count {
                    let byte = bytes[i]
                    i += 1
                    if byte == UInt8(ascii: "\"") { closed = true; break }
                    if byte == UInt8(ascii: "\\"), i < bytes.count { value.append(bytes[i]); i += 1; continue }
                    value.append(byte)
                }
                guard closed else { throw ParseError(reason: "unterminated quoted value of '\(name.prefix(50))'") }
            } else {
                // Unquoted: up to the next `;` or whitespace (lenient: any byte but those).
                while i < bytes.count, bytes[i] != UInt8(ascii: ";"), bytes[i] != 0x20, bytes[i] != 0x09 {
                    value.append(bytes[i]); i += 1
                }
            }
            skipOWS()
            guard i == bytes.count || bytes[i] == UInt8(ascii: ";") else {
                throw ParseError(reason: "unexpected text after parameter '\(name.prefix(50))'")
            }
            guard result.parameter(name) == nil else { throw ParseError(reason: "parameter '\(name.prefix(50))' appears twice") }
            // Escapes only ever drop a backslash before a byte, so valid UTF-8 stays valid.
            result.parameters.append((name, String(decoding: value, as: UTF8.self)))
        }
        return result
    }

    /// An RFC 5987 / RFC 8187 extended value, `charset'language'percent-encoded`, in UTF-8 or
    /// ISO-8859-1; nil when it is malformed or uses another charset (the caller then falls back
    /// to the plain parameter).
    static func decodeExtended(_ text: String) -> String? {
        let pieces = text.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3 else { return nil }
        var bytes: [UInt8] = []
        var encoded = Array(pieces[2].utf8)[...]
        while let byte = encoded.popFirst() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard encoded.count >= 2, let high = hexValue(encoded.removeFirst()), let low = hexValue(encoded.removeFirst()) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        switch pieces[0].lowercased() {
        case "utf-8": return String(validating: bytes, as: UTF8.self)
        case "iso-8859-1": return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        default: return nil
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
