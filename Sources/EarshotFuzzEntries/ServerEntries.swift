@_spi(Fuzzing) import EarshotC
@_spi(Fuzzing) import EarshotServer

enum ServerEntries {
    /// The input's first line (up to LF, a CR before it dropped) is the Content-Type header
    /// value, the rest is the request body: the fuzzer mutates the boundary parameter and the
    /// body together.
    static func multipart(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        let newline = bytes.firstIndex(of: 0x0A) ?? bytes.count
        var headerEnd = newline
        if headerEnd > 0, bytes[headerEnd - 1] == 0x0D { headerEnd -= 1 }
        let contentType = String(decoding: bytes[0..<headerEnd], as: UTF8.self)
        let body = UnsafeRawBufferPointer(rebasing: bytes[min(newline + 1, bytes.count)...])
        do { return .accepted("\(try MultipartParsing.parse(contentType: contentType, body: body)) parts") } catch {
            return .rejected("\(error)")
        }
    }

    /// The bytes as the C string a caller passes (cut at the first NUL, as C would see it).
    static func cOptions(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        let text = [CChar](bytes.prefix { $0 != 0 }.map { CChar(bitPattern: $0) }) + [0]
        do {
            try text.withUnsafeBufferPointer { p in try OptionsParsing.parse(p.baseAddress) }
            return .accepted("options read")
        } catch {
            return .rejected("\(error)")
        }
    }
}
