/// Dictionary keys with byte semantics and cheap hashing.
///
/// A vocabulary key compared and hashed by its exact UTF-8 bytes.
///
/// `String`'s own `Hashable` works on canonical equivalence: hashing normalises to NFC, which
/// made hashing the dominant cost of loading a 151k-entry vocabulary, and it would let two
/// canonically equivalent but byte-different tokens collide. Vocabulary tokens are byte
/// sequences, so byte equality is both faster and the right semantics.
struct TokenKey: Hashable, Sendable {
    let text: String

    init(_ text: String) { self.text = text }

    static func == (lhs: TokenKey, rhs: TokenKey) -> Bool {
        var left = lhs.text
        var right = rhs.text
        return left.withUTF8 { a in right.withUTF8 { b in a.elementsEqual(b) } }
    }

    func hash(into hasher: inout Hasher) {
        var text = text
        // Native strings (including small ones) always provide contiguous UTF-8.
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// A byte string hashed in one call (`Array<UInt8>`'s own hashing feeds bytes one at a time),
/// used as the key of the per-call word cache.
struct ByteKey: Hashable {
    let bytes: [UInt8]

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
