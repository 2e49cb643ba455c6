/// One part found by `MultipartScanner`: its headers, and its body as offsets into the scanned bytes.
struct RawPart: Sendable, Equatable {
    var name: String
    var filename: String?
    var contentType: String?
    var body: Range<Int>
}

/// The byte-level pass behind `MultipartForm`. Every loop moves forward through the input; the
/// only inner work is comparing at most `delimiter.count` bytes after each line feed, so a body
/// of n bytes costs O(n · delimiter.count) at worst and typically O(n).
struct MultipartScanner {
    let bytes: UnsafeRawBufferPointer
    /// `--` followed by the boundary.
    let delimiter: [UInt8]
    let limits: MultipartForm.Limits

    private static let cr: UInt8 = 0x0D, lf: UInt8 = 0x0A, dash: UInt8 = 0x2D, space: UInt8 = 0x20, tab: UInt8 = 0x09

    /// A delimiter line: where the content before it ends (its line break excluded), where the
    /// next part's headers start, and whether it was the closing `--boundary--`.
    private struct Delimiter {
        var contentEnd: Int
        var next: Int
        var isClose: Bool
    }

    mutating func scan() throws(MultipartError) -> [RawPart] {
        // The first delimiter may open the body or follow a preamble (which is ignored).
        guard var delimiter = delimiterLine(at: 0) ?? nextDelimiter(from: 0) else { throw .noOpeningDelimiter }
        var parts: [RawPart] = []
        while !delimiter.isClose {
            guard parts.count < limits.maxParts else { throw .tooManyParts(limit: limits.maxParts) }
            let number = parts.count + 1
            var (part, bodyStart) = try headers(from: delimiter.next, part: number)
            // The delimiter may directly follow the blank line of an empty part, hence `bodyStart - 1`:
            // that line feed is the one before `--boundary`.
            guard let end = nextDelimiter(from: bodyStart - 1) else { throw .noClosingDelimiter }
            part.body = bodyStart..<max(bodyStart, end.contentEnd)
            if part.filename == nil, part.body.count > limits.maxFieldBytes {
                throw .fieldTooLarge(name: part.name, limit: limits.maxFieldBytes)
            }
            parts.append(part)
            delimiter = end
        }
        return parts // Whatever follows the closing delimiter is an epilogue and is ignored.
    }

    /// The delimiter line starting exactly at `start`, if there is one.
    private func delimiterLine(at start: Int) -> Delimiter? {
        guard start >= 0, bytes.count - start >= delimiter.count else { return nil }
        for k in 0..<delimiter.count where bytes[start + k] != delimiter[k] { return nil }
        var i = start + delimiter.count
        if i + 1 < bytes.count, bytes[i] == Self.dash, bytes[i + 1] == Self.dash {
            return Delimiter(contentEnd: start, next: i + 2, isClose: true)
        }
        // RFC 2046 allows transport padding (linear whitespace) before the line break.
        while i < bytes.count, bytes[i] == Self.space || bytes[i] == Self.tab { i += 1 }
        if i < bytes.count, bytes[i] == Self.lf { return Delimiter(contentEnd: start, next: i + 1, isClose: false) }
        if i + 1 < bytes.count, bytes[i] == Self.cr, bytes[i + 1] == Self.lf {
            return Delimiter(contentEnd: start, next: i + 2, isClose: false)
        }
        return nil // `--boundary` followed by something else: content, not a delimiter.
    }

    /// The first delimiter line after a line feed at or after `from`; `contentEnd` excludes the
    /// line break (`\r\n` or `\n`) before it, which belongs to the delimiter.
    private func nextDelimiter(from: Int) -> Delimiter? {
        let lower = max(from, 0)
        var i = lower
        while i < bytes.count {
            if bytes[i] == Self.lf, var found = delimiterLine(at: i + 1) {
                found.contentEnd = (i > lower && bytes[i - 1] == Self.cr) ? i - 1 : i
                return found
            }
            i += 1
        }
        return nil
    }

    /// Parses the header block starting at `start`; returns the part (body still empty) and the
    /// offset just past the blank line that ends the headers.
    private func headers(from start: Int, part number: Int) throws(MultipartError) -> (RawPart, Int) {
        var disposition: String?
        var contentType: String?
        var lineStart = start
        // Headers may not run past this offset (written to avoid overflow for huge limits).
        let budgetEnd = bytes.count - start > limits.maxHeaderBytes ? start + max(limits.maxHeaderBytes, 0) : bytes.count
        let bodyStart: Int
        while true {
            var lineEnd = lineStart
            while lineEnd < budgetEnd, bytes[lineEnd] != Self.lf { lineEnd += 1 }
            guard lineEnd < budgetEnd else {
                if budgetEnd < bytes.count { throw .headersTooLarge(part: number, limit: limits.maxHeaderBytes) }
                throw .noClosingDelimiter
            }
            let contentEnd = (lineEnd > lineStart && bytes[lineEnd - 1] == Self.cr) ? lineEnd - 1 : lineEnd
            if contentEnd == lineStart { // The blank line.
                bodyStart = lineEnd + 1
                break
            }
            let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<contentEnd])
            let (name, value) = try Self.header(line, part: number)
            switch name {
            case "content-disposition":
                guard disposition == nil else { throw .malformedPartHeaders(part: number, reason: "two Content-Disposition headers") }
                disposition = value
            case "content-type":
                guard contentType == nil else { throw .malformedPartHeaders(part: number, reason: "two Content-Type headers") }
                contentType = value
            default:
                break // Content-Transfer-Encoding is deprecated by RFC 7578 and, like others, ignored.
            }
            lineStart = lineEnd + 1
        }
        guard let disposition else { throw .missingContentDisposition(part: number) }
        let parsed: HeaderValue
        do { parsed = try HeaderValue.parse(disposition) } catch {
            throw .malformedPartHeaders(part: number, reason: "Content-Disposition: \(error.reason)")
        }
        guard parsed.value.lowercased() == "form-data" else {
            throw .malformedPartHeaders(part: number, reason: "Content-Disposition is '\(parsed.value.prefix(50))', expected form-data")
        }
        guard let name = parsed.parameter("name"), !name.isEmpty else {
            throw .malformedPartHeaders(part: number, reason: "Content-Disposition has no name")
        }
        let filename = parsed.parameter("filename*").flatMap(HeaderValue.decodeExtended) ?? parsed.parameter("filename")
        return (RawPart(name: name, filename: filename, contentType: contentType, body: bodyStart..<bodyStart), bodyStart)
    }

    /// `Name: value` with the name lowercased and the value trimmed of spaces and tabs.
    private static func header(_ line: UnsafeRawBufferPointer, part number: Int) throws(MultipartError) -> (String, String) {
        guard line.first != space, line.first != tab else {
            throw .malformedPartHeaders(part: number, reason: "folded header lines are not supported")
        }
        guard let colon = line.firstIndex(of: 0x3A), colon > 0 else {
            throw .malformedPartHeaders(part: number, reason: "header line without a name and colon")
        }
        guard String(validating: line, as: UTF8.self) != nil else {
            throw .malformedPartHeaders(part: number, reason: "header line is not valid UTF-8")
        }
        let name = line[..<colon]
        guard name.allSatisfy(HeaderValue.isTokenByte) else {
            throw .malformedPartHeaders(part: number, reason: "invalid header name '\(String(decoding: name.prefix(50), as: UTF8.self))'")
        }
        // Cutting valid UTF-8 next to ASCII bytes (the colon, spaces, tabs) leaves valid UTF-8.
        var value = line[(colon + 1)...]
        while let first = value.first, first == space || first == tab { value = value.dropFirst() }
        while let last = value.last, last == space || last == tab { value = value.dropLast() }
        return (String(decoding: name, as: UTF8.self).lowercased(), String(decoding: value, as: UTF8.self))
    }
}
