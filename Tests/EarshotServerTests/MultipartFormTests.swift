import NIOCore
import Testing
@testable import EarshotServer

/// Bytes of a multipart body built from text and binary pieces.
func multipartBytes(_ pieces: [MultipartPiece]) -> ByteBuffer {
    var buffer = ByteBuffer()
    for piece in pieces {
        switch piece {
        case .text(let text): buffer.writeString(text)
        case .bytes(let bytes): buffer.writeBytes(bytes)
        }
    }
    return buffer
}

enum MultipartPiece: ExpressibleByStringInterpolation {
    case text(String)
    case bytes([UInt8])
    init(stringLiteral value: String) { self = .text(value) }
}

/// A stand-in WAV payload: a RIFF header followed by every byte value, CR and LF included.
let fakeWAV: [UInt8] = Array("RIFF\u{24}\0\0\0WAVEfmt ".utf8) + (0..<1024).map { UInt8($0 % 256) } + [0x0D, 0x0A, 0x2D, 0x2D]

/// Parsing, feature by feature, and bodies laid out exactly as real clients send them.
@Suite struct MultipartFormTests {
    func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    // MARK: Content-Type

    @Test func boundaryFromContentType() throws {
        #expect(try MultipartForm.boundary(fromContentType: "multipart/form-data; boundary=abc123") == "abc123")
        #expect(try MultipartForm.boundary(fromContentType: "multipart/form-data; boundary=\"a b:c?\"") == "a b:c?")
        #expect(try MultipartForm.boundary(fromContentType: "Multipart/Form-Data;BOUNDARY=XyZ") == "XyZ")
        #expect(try MultipartForm.boundary(fromContentType: "multipart/form-data; charset=utf-8; boundary=q; x=\"y;z\"") == "q")
        #expect(try MultipartForm.boundary(fromContentType: "  multipart/form-data ;  boundary = \"----WebKitFormBoundary7MA4YWxkTrZu0gW\" ")
            == "----WebKitFormBoundary7MA4YWxkTrZu0gW")
        #expect(try MultipartForm.boundary(fromContentType: "multipart/form-data; boundary=\"esc\\\"aped\"") == "esc\"aped")
    }

    @Test func boundaryErrors() {
        #expect(throws: MultipartError.missingBoundary) { try MultipartForm.boundary(fromContentType: "multipart/form-data") }
        #expect(throws: MultipartError.missingBoundary) { try MultipartForm.boundary(fromContentType: "multipart/form-data; boundary=\"\"") }
        #expect(throws: MultipartError.missingBoundary) { try MultipartForm.boundary(fromContentType: "multipart/form-data; charset=x") }
        #expect(throws: MultipartError.notMultipartFormData("application/json")) {
            try MultipartForm.boundary(fromContentType: "application/json")
        }
        #expect(throws: MultipartError.notMultipartFormData("multipart/mixed; boundary=a")) {
            try MultipartForm.boundary(fromContentType: "multipart/mixed; boundary=a")
        }
        #expect(throws: MultipartError.notMultipartFormData("")) { try MultipartForm.boundary(fromContentType: "") }
        let unterminated = "multipart/form-data; boundary=\"abc"
        #expect(throws: MultipartError.notMultipartFormData(unterminated)) { try MultipartForm.boundary(fromContentType: unterminated) }
        let duplicated = "multipart/form-data; boundary=a; boundary=b"
        #expect(throws: MultipartError.notMultipartFormData(duplicated)) { try MultipartForm.boundary(fromContentType: duplicated) }
        let long = String(repeating: "x", count: 71)
        #expect(throws: MultipartError.invalidBoundary(long)) { try MultipartForm.boundary(fromContentType: "multipart/form-data; boundary=\(long)") }
        #expect(throws: MultipartError.invalidBoundary("a\u{7F}")) { try MultipartForm.boundary(fromContentType: "multipart/form-data; boundary=\"a\u{7F}\"") }
        #expect(throws: MultipartError.invalidBoundary("ab ")) { try MultipartForm.boundary(fromContentType: "multipart/form-data; boundary=\"ab \"") }
        #expect(throws: MultipartError.invalidBoundary("é")) { try MultipartForm(body: ByteBuffer(), boundary: "é", limits: .init()) }
        #expect(MultipartError.missingBoundary.description == "the multipart/form-data Content-Type has no boundary parameter")
    }

    // MARK: Real clients

    /// httpx (what the openai Python client uses): a 32-hex-digit boundary, data fields first with only
    /// a Content-Disposition, then the file with a Content-Type guessed from its name, no preamble.
    @Test func httpxLayout() throws {
        let b = "1f0e5c3a8b7d4e2f9a6c0b1d2e3f4a5b"
        let contentType = "multipart/form-data; boundary=\(b)"
        let body = multipartBytes([
            "--\(b)\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nqwen3-asr-0.6b\r\n",
            "--\(b)\r\nContent-Disposition: form-data; name=\"response_format\"\r\n\r\nverbose_json\r\n",
            "--\(b)\r\nContent-Disposition: form-data; name=\"language\"\r\n\r\nen\r\n",
            "--\(b)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"speech.wav\"\r\nContent-Type: audio/x-wav\r\n\r\n",
            .bytes(fakeWAV), "\r\n--\(b)--\r\n",
        ])
        let form = try MultipartForm(body: body, boundary: MultipartForm.boundary(fromContentType: contentType), limits: .init())
        #expect(form.parts.map(\.name) == ["model", "response_format", "language", "file"])
        #expect(try form.field("model") == "qwen3-asr-0.6b")
        #expect(try form.field("response_format") == "verbose_json")
        #expect(try form.field("language") == "en")
        #expect(try form.field("prompt") == nil)
        let file = try #require(form.part(named: "file"))
        #expect(file.filename == "speech.wav")
        #expect(file.contentType == "audio/x-wav")
        #expect(bytes(file.body) == fakeWAV)
        #expect(form.part(named: "model")?.filename == nil && form.part(named: "model")?.contentType == nil)
    }

    /// curl -F: dashes-and-hex boundary, file part with curl's guessed Content-Type.
    @Test func curlLayout() throws {
        let b = "------------------------d74496d66958873e"
        let body = multipartBytes([
            "--\(b)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n",
            .bytes(fakeWAV),
            "\r\n--\(b)\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ntiny\r\n--\(b)--\r\n",
        ])
        let form = try MultipartForm(body: body, boundary: b, limits: .init())
        #expect(form.parts.count == 2)
        #expect(bytes(try #require(form.part(named: "file")).body) == fakeWAV)
        #expect(try form.field("model") == "tiny")
    }

    /// requests (urllib3): uuid4-hex boundary, no Content-Type on a file given as (name, bytes);
    /// urllib3 1.x wrote non-ASCII filenames as RFC 2231 `filename*=utf-8''...`.
    @Test func requestsLayout() throws {
        let b = "3f2a9c7e5b1d4f6a8c0e2b4d6f8a0c1e"
        let body = multipartBytes([
            "--\(b)\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n",
            "--\(b)\r\nContent-Disposition: form-data; name=\"file\"; filename*=utf-8''%E2%82%AC%20report.wav\r\n\r\n",
            .bytes(fakeWAV), "\r\n--\(b)--\r\n",
        ])
        let form = try MultipartForm(body: body, boundary: b, limits: .init())
        let file = try #require(form.part(named: "file"))
        #expect(file.filename == "€ report.wav")
        #expect(file.contentType == nil)
        #expect(bytes(file.body) == fakeWAV)
    }

    /// A browser: WebKit boundary, raw UTF-8 filename, and `"` written as %22 (kept as sent).
    @Test func browserLayout() throws {
        let b = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
        let body = multipartBytes([
            "--\(b)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"réunion %22final%22.wav\"\r\n",
            "Content-Type: application/octet-stream\r\n\r\n", .bytes([1, 2, 3]), "\r\n--\(b)--\r\n",
        ])
        let file = try #require(try MultipartForm(body: body, boundary: b, limits: .init()).part(named: "file"))
        #expect(file.filename == "réunion %22final%22.wav")
        #expect(file.contentType == "application/octet-stream")
    }

    // MARK: Features

    @Test func preambleEpiloguePaddingAndCaseInsensitiveHeaders() throws {
        let body = multipartBytes([
            "This is a preamble.\r\nIt mentions --XY but not at a line start.\r\n",
            "--XY  \t\r\ncontent-disposition:FORM-DATA;NAME=a;Filename=\"x.txt\"\r\nCONTENT-TYPE:  text/plain  \r\nX-Other: 1\r\n\r\nhello",
            "\r\n--XY--  trailing\r\nepilogue\r\n--XY\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nignored\r\n",
        ])
        let form = try MultipartForm(body: body, boundary: "XY", limits: .init())
        #expect(form.parts.count == 1)
        let part = try #require(form.part(named: "a"))
        #expect(part.filename == "x.txt" && part.contentType == "text/plain")
        #expect(try form.field("a") == "hello")
    }

    @Test func bareLineFeeds() throws {
        let body = multipartBytes(["--b\nContent-Disposition: form-data; name=\"x\"\n\none\ntwo\n--b\n",
                                   "Content-Disposition: form-data; name=\"y\"\r\n\nthree\n--b--"])
        let form = try MultipartForm(body: body, boundary: "b", limits: .init())
        #expect(try form.field("x") == "one\ntwo")
        #expect(try form.field("y") == "three")
    }

    @Test func boundaryInsideDataIsContent() throws {
        let b = "boundary42"
        let tricky: [UInt8] = Array("x boundary42 --boundary42 \n-boundary42 \r\n--boundary42X \r\n--boundary4\r\n--boundary42".utf8) + [0]
        let body = multipartBytes(["--\(b)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n",
                                   .bytes(tricky), "\r\n--\(b)--"])
        let form = try MultipartForm(body: body, boundary: b, limits: .init())
        #expect(form.parts.count == 1)
        #expect(bytes(try #require(form.part(named: "file")).body) == tricky)
    }

    @Test func emptyPartsAndEmptyForm() throws {
        let body = multipartBytes([
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n",
            "--b\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n",
            // No line break between the headers' blank line and the delimiter: tolerated as empty.
            "--b\r\nContent-Disposition: form-data; name=\"tight\"\r\n\r\n--b--\r\n",
        ])
        let form = try MultipartForm(body: body, boundary: "b", limits: .init())
        #expect(form.parts.map(\.name) == ["file", "empty", "tight"])
        #expect(form.part(named: "file")?.filename == "")
        #expect(form.parts.allSatisfy { $0.body.readableBytes == 0 })
        #expect(try form.field("empty") == "")
        #expect(try MultipartForm(body: multipartBytes(["--b--"]), boundary: "b", limits: .init()).parts.isEmpty)
        #expect(try MultipartForm(body: multipartBytes(["preamble\r\n--b--\r\n"]), boundary: "b", limits: .init()).parts.isEmpty)
    }

    @Test func binaryFileWithEveryByteValue() throws {
        var data: [UInt8] = []
        for round in 0..<8 { data += (0...255).map { UInt8(truncatingIfNeeded: $0 &* (2 * round + 1)) } }
        data += Array("\r\n--b-\r\n\r\n\n--\r".utf8)
        let body = multipartBytes(["--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"all.bin\"\r\n\r\n",
                                   .bytes(data), "\r\n--b--\r\n"])
        let form = try MultipartForm(body: body, boundary: "b", limits: .init())
        #expect(bytes(try #require(form.part(named: "file")).body) == data)
    }

    @Test func quotedValuesAndExtendedFilenames() throws {
        func disposition(_ value: String) throws -> MultipartForm.Part {
            let body = multipartBytes(["--b\r\nContent-Disposition: \(value)\r\n\r\nv\r\n--b--"])
            return try #require(try MultipartForm(body: body, boundary: "b", limits: .init()).parts.first)
        }
        #expect(try disposition(#"form-data; name="a\"b"; filename="C:\\dir\\x.wav""#).name == "a\"b")
        #expect(try disposition(#"form-data; name="a\"b"; filename="C:\\dir\\x.wav""#).filename == #"C:\dir\x.wav"#)
        #expect(try disposition(#"form-data; name="semi;colon"; filename="a; b.wav""#).filename == "a; b.wav")
        #expect(try disposition("form-data; name=plain; filename=x.wav").filename == "x.wav")
        #expect(try disposition("form-data; name=x; filename=\"plain.wav\"; filename*=UTF-8''%C3%A9t%C3%A9.wav").filename == "été.wav")
        #expect(try disposition("form-data; name=x; filename*=iso-8859-1'fr'%E9t%E9.wav").filename == "été.wav")
        // An undecodable extended value falls back to the plain one.
        #expect(try disposition("form-data; name=x; filename=\"fallback.wav\"; filename*=utf-8''%FF%G1").filename == "fallback.wav")
        #expect(try disposition("form-data; name=x; filename=\"fallback.wav\"; filename*=koi8-r''abc").filename == "fallback.wav")
        #expect(try disposition("form-data; name=x; filename*=utf-8''%FF").filename == nil)
        #expect(try disposition("form-data;name=\"x\";;").name == "x")
    }

    @Test func repeatedNamesKeepOrder() throws {
        let body = multipartBytes([
            "--b\r\nContent-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n\r\nword\r\n",
            "--b\r\nContent-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n\r\nsegment\r\n--b--\r\n",
        ])
        let form = try MultipartForm(body: body, boundary: "b", limits: .init())
        #expect(try form.field("timestamp_granularities[]") == "word")
        #expect(form.parts(named: "timestamp_granularities[]").map { String(buffer: $0.body) } == ["word", "segment"])
    }

    /// Part bodies are slices of the input's storage, also when the input has a non-zero reader index.
    @Test func bodiesAreSlicesWithoutCopy() throws {
        var body = multipartBytes(["GARBAGE--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n",
                                   .bytes(fakeWAV), "\r\n--b--\r\n"])
        body.moveReaderIndex(forwardBy: 7)
        let form = try MultipartForm(body: body, boundary: "b", limits: .init())
        let file = try #require(form.part(named: "file"))
        #expect(bytes(file.body) == fakeWAV)
        let inside = body.withUnsafeReadableBytes { whole in
            file.body.withUnsafeReadableBytes { part in
                part.baseAddress! >= whole.baseAddress! && part.baseAddress! + part.count <= whole.baseAddress! + whole.count
            }
        }
        #expect(inside)
    }

    @Test func fieldUTF8() throws {
        let body = multipartBytes(["--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n", .text("Zürich, 東京, 🎙️"),
                                   "\r\n--b\r\nContent-Disposition: form-data; name=\"bad\"\r\n\r\n", .bytes([0x61, 0xC3, 0x28]),
                                   "\r\n--b--\r\n"])
        let form = try MultipartForm(body: body, boundary: "b", limits: .init())
        #expect(try form.field("prompt") == "Zürich, 東京, 🎙️")
        #expect(throws: MultipartError.invalidUTF8(field: "bad")) { try form.field("bad") }
        #expect(MultipartError.invalidUTF8(field: "bad").description == "form field 'bad' is not valid UTF-8")
    }
}
