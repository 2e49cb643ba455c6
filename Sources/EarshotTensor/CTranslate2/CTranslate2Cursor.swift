/// A bounds-checked little-endian reader over a mapped CTranslate2 file.
///
/// Every read checks the remaining bytes first and throws `truncated` naming what it was reading
/// and where, so no input can make the parser load past the mapping. `offset` never exceeds
/// `count`, and every length taken from the file is at most 32 bits wide, so nothing here can
/// overflow.
struct CTranslate2Cursor {
    let base: UnsafeRawPointer
    let count: Int
    let path: String
    private(set) var offset = 0

    init(base: UnsafeRawPointer, count: Int, path: String) {
        self.base = base
        self.count = count
        self.path = path
    }

    var remaining: Int { count - offset }

    /// Reads a fixed-size little-endian integer.
    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(CTranslate2Error) -> T {
        let size = MemoryLayout<T>.size
        try need(size, what())
        let v = T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return v
    }

    /// Steps over `n` bytes (a variable's data).
    mutating func skip(_ n: Int, _ what: @autoclosure () -> String) throws(CTranslate2Error) {
        try need(n, what())
        offset += n
    }

    /// Reads a CTranslate2 string: u16 length counting a terminating NUL, then that many bytes.
    /// The text before the NUL must be UTF-8 without a NUL of its own (the reference reader would
    /// silently cut the name there; two names differing after it would then collide).
    mutating func string(_ what: @autoclosure () -> String) throws(CTranslate2Error) -> String {
        let start = offset
        let length = Int(try read(UInt16.self, "length of \(what())"))
        guard length > 0 else {
            throw .badString(path: path, what: what(), offset: start, reason: "has length 0 (the length counts a terminating NUL)")
        }
        try need(length, what())
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: length)
        guard bytes[length - 1] == 0 else {
            throw .badString(path: path, what: what(), offset: start, reason: "does not end with a NUL byte")
        }
        let text = UnsafeRawBufferPointer(rebasing: bytes[0..<length - 1])
        if let nul = text.firstIndex(of: 0) {
            throw .badString(path: path, what: what(), offset: start, reason: "has a NUL byte at position \(nul), before its end")
        }
        guard let s = String(validating: text, as: UTF8.self) else {
            throw .badString(path: path, what: what(), offset: start, reason: "is not valid UTF-8")
        }
        offset += length
        return s
    }

    private func need(_ n: Int, _ what: @autoclosure () -> String) throws(CTranslate2Error) {
        guard remaining >= n else { throw .truncated(path: path, what: what(), offset: offset, needed: n, fileSize: count) }
    }
}
