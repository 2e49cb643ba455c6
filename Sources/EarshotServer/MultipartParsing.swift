import NIOCore

/// A door to the multipart parser, which is internal to this module, for the fuzz targets
/// (`fuzz/`) and the regression corpus the tests replay (`EarshotFuzzEntries`). It runs the steps
/// the transcription route runs on a request: the boundary from the Content-Type, the form with
/// the route's limits, then each part's name read as a text field.
///
/// `@_spi(Fuzzing)`: not part of the library's API; only a client that writes
/// `@_spi(Fuzzing) import EarshotServer` sees it.
@_spi(Fuzzing) public enum MultipartParsing {
    /// The number of parts of `body`; throws the parser's `MultipartError` (internal, hence untyped here).
    public static func parse(contentType: String, body: UnsafeRawBufferPointer) throws -> Int {
        let boundary = try MultipartForm.boundary(fromContentType: contentType)
        let form = try MultipartForm(body: ByteBuffer(bytes: body), boundary: boundary, limits: .init())
        for part in form.parts where part.filename == nil { _ = try form.field(part.name) }
        return form.parts.count
    }
}
