import NIOCore

/// A `multipart/form-data` body (RFC 7578) parsed in one linear pass over bytes already in memory.
///
/// Part bodies are slices of the input buffer (no copy). Decisions worth knowing:
/// - Delimiters are `--boundary` at the start of a line. RFC 2046 puts a CRLF before each one (and
///   that CRLF belongs to the delimiter, not the body); a bare LF is tolerated too, so a part's body
///   ends before `\r\n` or `\n`. A line that starts with `--boundary` but continues with other bytes
///   is content, not a delimiter.
/// - Part headers may end lines with CRLF or a bare LF. Folded (continued) header lines, header
///   lines without a colon and headers that are not UTF-8 are errors; unknown headers are ignored.
/// - Repeated names are kept in order (OpenAI's API repeats `timestamp_granularities[]`);
///   `part(named:)` and `field(_:)` answer with the first one, `parts(named:)` with all of them.
/// - Parameter values are used as sent after removing quotes and backslash escapes: the `%22`
///   that browsers and httpx write for a `"` inside a filename is not decoded, since a literal
///   `%22` would be indistinguishable. `filename*=` (RFC 5987) wins over `filename=` when it decodes.
/// - A part "is a file" when its Content-Disposition has a `filename` (even empty). Other parts are
///   text fields and are limited to `Limits.maxFieldBytes`.
struct MultipartForm: Sendable {
    struct Limits: Sendable, Equatable {
        /// Parts in the whole body (the OpenAI transcription form has fewer than a dozen).
        var maxParts: Int
        /// Bytes of one part's header block, blank line included.
        var maxHeaderBytes: Int
        /// Body bytes of a part without a filename.
        var maxFieldBytes: Int

        init(maxParts: Int = 32, maxHeaderBytes: Int = 8 * 1024, maxFieldBytes: Int = 64 * 1024) {
            self.maxParts = maxParts
            self.maxHeaderBytes = maxHeaderBytes
            self.maxFieldBytes = maxFieldBytes
        }
    }

    struct Part: Sendable {
        var name: String
        var filename: String?
        var contentType: String?
        /// A slice of the body given to `init` (shares its storage).
        var body: ByteBuffer
    }

    /// Every part, in the order sent.
    let parts: [Part]

    /// The boundary of a `Content-Type: multipart/form-data; boundary=...` header value.
    static func boundary(fromContentType contentType: String) throws(MultipartError) -> String {
        guard let header = try? HeaderValue.parse(contentType),
              header.value.lowercased() == "multipart/form-data" else {
            throw .notMultipartFormData(contentType)
        }
        guard let boundary = header.parameter("boundary"), !boundary.isEmpty else { throw .missingBoundary }
        try validate(boundary: boundary)
        return boundary
    }

    /// RFC 2046: 1 to 70 characters; we accept any printable ASCII (a superset of its `bchars`)
    /// that does not end in a space, which keeps the delimiter on one line.
    static func validate(boundary: String) throws(MultipartError) {
        let bytes = Array(boundary.utf8)
        guard (1...70).contains(bytes.count), bytes.allSatisfy({ (0x20...0x7E).contains($0) }), bytes.last != 0x20 else {
            throw .invalidBoundary(boundary)
        }
    }

    init(body: ByteBuffer, boundary: String, limits: Limits = Limits()) throws(MultipartError) {
        try Self.validate(boundary: boundary)
        let delimiter = Array("--\(boundary)".utf8)
        // The scan works on offsets into the readable bytes; slices are cut from `body` afterwards.
        let scanned = body.withUnsafeReadableBytes { bytes in
            Result { () throws(MultipartError) -> [RawPart] in
                var scanner = MultipartScanner(bytes: bytes, delimiter: delimiter, limits: limits)
                return try scanner.scan()
            }
        }
        let start = body.readerIndex
        parts = try scanned.get().map { raw in
            Part(name: raw.name, filename: raw.filename, contentType: raw.contentType,
                 body: body.getSlice(at: start + raw.body.lowerBound, length: raw.body.count) ?? ByteBuffer())
        }
    }

    /// The first part with this name.
    func part(named name: String) -> Part? { parts.first { $0.name == name } }

    /// Every part with this name, in order.
    func parts(named name: String) -> [Part] { parts.filter { $0.name == name } }

    /// The first part with this name as UTF-8 text; nil when there is none.
    func field(_ name: String) throws(MultipartError) -> String? {
        guard let part = part(named: name) else { return nil }
        guard let text = String(validating: part.body.readableBytesView, as: UTF8.self) else {
            throw .invalidUTF8(field: name)
        }
        return text
    }
}

enum MultipartError: Error, Sendable, Equatable, CustomStringConvertible {
    case notMultipartFormData(String)
    case missingBoundary
    case invalidBoundary(String)
    /// The body does not contain the first `--boundary` line.
    case noOpeningDelimiter
    /// The body ends before the closing `--boundary--` (typically a truncated upload).
    case noClosingDelimiter
    /// `part` counts from 1.
    case malformedPartHeaders(part: Int, reason: String)
    case missingContentDisposition(part: Int)
    case headersTooLarge(part: Int, limit: Int)
    case tooManyParts(limit: Int)
    case fieldTooLarge(name: String, limit: Int)
    case invalidUTF8(field: String)

    var description: String {
        switch self {
        case .notMultipartFormData(let contentType):
            return "expected Content-Type multipart/form-data with a boundary, got '\(contentType.prefix(200))'"
        case .missingBoundary: return "the multipart/form-data Content-Type has no boundary parameter"
        case .invalidBoundary(let boundary):
            return "invalid multipart boundary '\(boundary.prefix(100))' (1 to 70 printable ASCII characters)"
        case .noOpeningDelimiter: return "the multipart body does not contain its boundary"
        case .noClosingDelimiter: return "the multipart body ends before its closing boundary (truncated upload?)"
        case .malformedPartHeaders(let part, let reason): return "multipart part \(part): \(reason)"
        case .missingContentDisposition(let part): return "multipart part \(part) has no Content-Disposition header"
        case .headersTooLarge(let part, let limit): return "multipart part \(part) has more than \(limit) bytes of headers"
        case .tooManyParts(let limit): return "the multipart body has more than \(limit) parts"
        case .fieldTooLarge(let name, let limit): return "form field '\(name)' is larger than \(limit) bytes"
        case .invalidUTF8(let field): return "form field '\(field)' is not valid UTF-8"
        }
    }
}
