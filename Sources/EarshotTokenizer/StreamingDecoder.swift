/// Decodes token ids one at a time, as they are generated, into text.
///
/// A byte-level token can end in the middle of a UTF-8 character (an emoji or CJK character is
/// often split over two or three tokens). Emitting such a fragment would produce U+FFFD and
/// then lose the character, so the decoder holds back a trailing incomplete sequence until the
/// bytes that complete it arrive. Concatenating every `push` result and `finish()` gives
/// exactly `tokenizer.decode(allIDs, skipSpecial:)`: text is only cut after a complete
/// character or after bytes that are invalid whatever follows, and in both cases decoding the
/// two halves separately gives the same characters as decoding them together.
public struct StreamingDecoder: Sendable {
    private let tokenizer: Qwen2Tokenizer
    private let skipSpecial: Bool
    /// Bytes received but not yet returned: at most an incomplete UTF-8 sequence (< 4 bytes)
    /// between calls.
    private var pending: [UInt8] = []

    public init(tokenizer: Qwen2Tokenizer, skipSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
    }

    /// Adds one token; returns the text it completes (possibly empty).
    public mutating func push(_ id: Int) -> String {
        tokenizer.appendBytes(of: id, skipSpecial: skipSpecial, to: &pending)
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Returns whatever is still held back (an unfinished sequence becomes U+FFFD) and resets.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the prefix of `bytes` that can be decoded now: everything except a trailing
    /// lead byte whose continuation bytes have not all arrived yet.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        var index = count - 1
        let lowest = max(0, count - 4)
        // Walk back over at most three continuation bytes (10xxxxxx) to the lead byte.
        while index >= lowest, bytes[index] & 0xC0 == 0x80 { index -= 1 }
        guard index >= lowest else { return count }  // no lead byte nearby: nothing to wait for
        let needed: Int
        switch bytes[index] {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return count  // ASCII or a byte that can never start a sequence
        }
        return count - index < needed ? index : count
    }
}
