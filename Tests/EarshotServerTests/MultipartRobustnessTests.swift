import EarshotTestSupport
import Foundation
import NIOCore
import Testing
@testable import EarshotServer

/// Hostile and broken bodies: every error case, the limits, truncation at every byte offset and a
/// seeded fuzz loop. None of them may trap.
@Suite struct MultipartRobustnessTests {
    static let boundary = "Xq9-boundary"

    /// A representative upload (two fields, a binary file, preamble and epilogue).
    static let sample: [UInt8] = Array(multipartBytes([
        "preamble\r\n",
        "--\(boundary)\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ntiny\r\n",
        "--\(boundary)\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nNames: Zyxel, Quokka.\r\n",
        "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n",
        .bytes(Array(fakeWAV.prefix(300))), "\r\n--\(boundary)--\r\nepilogue",
    ]).readableBytesView)

    static func parse(_ bytes: [UInt8], limits: MultipartForm.Limits = .init(), boundary: String = boundary)
        throws(MultipartError) -> MultipartForm {
        try MultipartForm(body: ByteBuffer(bytes: bytes), boundary: boundary, limits: limits)
    }

    func expectError(_ expected: MultipartError, _ pieces: [MultipartPiece], limits: MultipartForm.Limits = .init(),
                     sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: expected, sourceLocation: sourceLocation) {
            try MultipartForm(body: multipartBytes(pieces), boundary: "b", limits: limits)
        }
    }

    @Test func structuralErrors() {
        expectError(.noOpeningDelimiter, [])
        expectError(.noOpeningDelimiter, ["no delimiter here"])
        expectError(.noOpeningDelimiter, ["--bb\r\n--b"]) // Neither is a delimiter line.
        expectError(.noClosingDelimiter, ["--b\r\n"])
        expectError(.noClosingDelimiter, ["--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue"])
        expectError(.noClosingDelimiter, ["--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--b"])
        expectError(.noClosingDelimiter, ["--b\r\nContent-Disposition: form-data; name=\"a\""])
        expectError(.missingContentDisposition(part: 1), ["--b\r\n\r\nvalue\r\n--b--"])
        expectError(.missingContentDisposition(part: 2),
                    ["--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--"])
        #expect(MultipartError.noClosingDelimiter.description.contains("truncated"))
    }

    @Test func malformedHeaders() {
        func malformed(_ header: String, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
            expectError(.malformedPartHeaders(part: 1, reason: reason), ["--b\r\n\(header)\r\n\r\nv\r\n--b--"],
                        sourceLocation: sourceLocation)
        }
        malformed("Content-Disposition form-data", "header line without a name and colon")
        malformed(": form-data", "header line without a name and colon")
        malformed("Content-Disposition: form-data; name=a\r\n  ; filename=b", "folded header lines are not supported")
        malformed("Content Disposition: form-data; name=a", "invalid header name 'Content Disposition'")
        malformed("Content-Disposition: attachment; name=a", "Content-Disposition is 'attachment', expected form-data")
        malformed("Content-Disposition: form-data", "Content-Disposition has no name")
        malformed("Content-Disposition: form-data; name=\"\"", "Content-Disposition has no name")
        malformed("Content-Disposition: form-data; name=\"a", "Content-Disposition: unterminated quoted value of 'name'")
        malformed("Content-Disposition: form-data; name=a; name=b", "Content-Disposition: parameter 'name' appears twice")
        malformed("Content-Disposition: form-data; name", "Content-Disposition: parameter 'name' has no value")
        malformed("Content-Disposition: form-data; name=a b", "Content-Disposition: unexpected text after parameter 'name'")
        malformed("Content-Disposition: form-data; =a", "Content-Disposition: invalid parameter name")
        malformed("Content-Disposition: ; name=a", "Content-Disposition: empty value")
        malformed("Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b", "two Content-Disposition headers")
        malformed("Content-Disposition: form-data; name=a\r\nContent-Type: a\r\nContent-Type: b", "two Content-Type headers")
        expectError(.malformedPartHeaders(part: 1, reason: "header line is not valid UTF-8"),
                    ["--b\r\nContent-Disposition: form-data; name=\"", .bytes([0xFF]), "\"\r\n\r\nv\r\n--b--"])
        #expect(MultipartError.malformedPartHeaders(part: 3, reason: "x").description == "multipart part 3: x")
    }

    @Test func limits() throws {
        let part = "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nvalue\r\n"
        let limits = MultipartForm.Limits(maxParts: 3, maxHeaderBytes: 64, maxFieldBytes: 5)
        #expect(try MultipartForm(body: multipartBytes([.text(String(repeating: part, count: 3)), "--b--"]), boundary: "b",
                                  limits: limits).parts.count == 3)
        expectError(.tooManyParts(limit: 3), [.text(String(repeating: part, count: 4)), "--b--"], limits: limits)
        // Too many parts is reported before the end, even without a closing delimiter.
        expectError(.tooManyParts(limit: 3), [.text(String(repeating: part, count: 4))], limits: limits)

        expectError(.fieldTooLarge(name: "f", limit: 5), ["--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nvalue!\r\n--b--"],
                    limits: limits)
        // File parts are not fields: their size is the HTTP layer's upload limit.
        let file = try MultipartForm(body: multipartBytes(["--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n",
                                                           .bytes(fakeWAV), "\r\n--b--"]), boundary: "b", limits: limits)
        #expect(file.parts[0].body.readableBytes == fakeWAV.count)

        // 62 bytes of headers (blank line included) pass a 64-byte budget; one more header does not.
        let headers = "Content-Disposition: form-data; name=\"f\"\r\nX-Pad: 123456789\r\n\r\n"
        #expect(headers.utf8.count == 62)
        #expect(try MultipartForm(body: multipartBytes(["--b\r\n\(headers)v\r\n--b--"]), boundary: "b", limits: limits).parts.count == 1)
        expectError(.headersTooLarge(part: 1, limit: 64), ["--b\r\nX-A: 1\r\n\(headers)v\r\n--b--"], limits: limits)
        expectError(.headersTooLarge(part: 1, limit: 64), ["--b\r\n", .bytes(Array(repeating: 0x41, count: 100_000))], limits: limits)
        // Huge and zero limits neither overflow nor trap.
        let huge = MultipartForm.Limits(maxParts: .max, maxHeaderBytes: .max, maxFieldBytes: .max)
        #expect(try MultipartForm(body: multipartBytes(["--b\r\n\(headers)v\r\n--b--"]), boundary: "b", limits: huge).parts.count == 1)
        let zero = MultipartForm.Limits(maxParts: 0, maxHeaderBytes: 0, maxFieldBytes: 0)
        expectError(.tooManyParts(limit: 0), ["--b\r\n\(headers)v\r\n--b--"], limits: zero)
        #expect(try MultipartForm(body: multipartBytes(["--b--"]), boundary: "b", limits: zero).parts.isEmpty)
    }

    /// Cutting the sample anywhere gives an error, unless the cut falls after the closing delimiter,
    /// where the result is the whole form.
    @Test func truncatedAtEveryOffset() throws {
        let full = try Self.parse(Self.sample)
        let closeEnd = try #require(Self.sample.indices.first { Self.sample[$0...].starts(with: Array("--\(Self.boundary)--".utf8)) })
            + Self.boundary.utf8.count + 4
        for length in 0..<Self.sample.count {
            do {
                let form = try Self.parse(Array(Self.sample[..<length]))
                #expect(length >= closeEnd, "cut at \(length) parsed")
                #expect(form.parts.map(\.name) == full.parts.map(\.name))
                #expect(form.parts.map { Array($0.body.readableBytesView) } == full.parts.map { Array($0.body.readableBytesView) })
            } catch {
                #expect(length < closeEnd, "cut at \(length): \(error)")
            }
        }
    }

    /// Random bytes, and random damage to the sample (overwrites, deletions, spliced-in delimiter
    /// fragments). Whatever parses must respect the limits and point inside the input.
    @Test func seededFuzz() {
        var random = SeededRandom(seed: 0x6D75_6C74_6970_6172)
        let fragments: [[UInt8]] = ["\r\n", "\n", "--", "--\(Self.boundary)", "\r\n--\(Self.boundary)\r\n", "\r\n--\(Self.boundary)--",
                                    "Content-Disposition: form-data; name=\"", "\"", "\\", ";", "filename*=utf-8''%", "\r\n\r\n"]
            .map { Array($0.utf8) }
        let limits = MultipartForm.Limits(maxParts: 8, maxHeaderBytes: 256, maxFieldBytes: 64)
        var parsed = 0
        for iteration in 0..<4000 {
            var input: [UInt8]
            if iteration % 4 == 0 {
                input = (0..<Int.random(in: 0..<400, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                input = Self.sample
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    let at = Int.random(in: 0...input.count, using: &random)
                    switch Int.random(in: 0..<3, using: &random) {
                    case 0 where at < input.count: input[at] = UInt8.random(in: 0...255, using: &random)
                    case 1: input.removeSubrange(at..<min(input.count, at + Int.random(in: 1...40, using: &random)))
                    default: input.insert(contentsOf: fragments.randomElement(using: &random)!, at: at)
                    }
                }
            }
            guard let form = try? Self.parse(input, limits: limits) else { continue }
            parsed += 1
            #expect(form.parts.count <= limits.maxParts)
            for part in form.parts {
                #expect(!part.name.isEmpty)
                #expect(part.body.readableBytes <= input.count)
                if part.filename == nil { #expect(part.body.readableBytes <= limits.maxFieldBytes) }
                _ = try? form.field(part.name)
            }
        }
        #expect(parsed > 100) // The damage leaves many bodies valid, so the success path is exercised too.
    }

    /// Near-miss delimiters on every line and a megabyte-long header line stay linear.
    @Test func hostileInputsStayFast() throws {
        let nearMiss = Array(String(repeating: "\n--\(Self.boundary.dropLast())", count: 60_000).utf8)
        let start = ContinuousClock.now
        #expect(throws: MultipartError.noOpeningDelimiter) { try Self.parse(nearMiss) }
        let fileHead = Array("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n".utf8)
        #expect(throws: MultipartError.noClosingDelimiter) { try Self.parse(fileHead + nearMiss) }
        let longLine = Array("--\(Self.boundary)\r\n".utf8) + Array(repeating: 0x41, count: 1 << 20)
        #expect(throws: MultipartError.headersTooLarge(part: 1, limit: 8192)) { try Self.parse(longLine) }
        #expect(ContinuousClock.now - start < .seconds(20))
    }
}
