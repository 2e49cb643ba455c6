/// The GPT-2 byte-to-character map used by byte-level BPE vocabularies.
///
/// Byte-level BPE works on raw UTF-8 bytes, but its vocabulary files store tokens as text.
/// GPT-2 therefore maps each of the 256 byte values to a printable character: bytes that are
/// already printable and not whitespace (`!`...`~`, `¡`...`¬`, `®`...`ÿ`) map to the
/// character with the same code point, and the remaining 68 bytes (controls, space, DEL,
/// NBSP, soft hyphen...) map, in increasing byte order, to U+0100, U+0101, ...
/// So a space becomes `Ġ` (U+0120) and a newline `Ċ` (U+010A).
public enum ByteLevel {
    /// `scalarForByte[b]` is the character that stands for byte `b`.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(byte) {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                // 256 + n is always a valid scalar (below the surrogate range).
                table[byte] = Unicode.Scalar(next) ?? "\u{FFFD}"
                next += 1
            }
        }
        return table
    }()

    /// The vocabulary character standing for `byte` (for writing byte-level vocabularies).
    public static func character(forByte byte: UInt8) -> Character { Character(scalarForByte[Int(byte)]) }

    /// The inverse map: character code point -> byte. Only code points below 512 are used,
    /// so a flat table is faster than a dictionary; `-1` marks "not a byte character".
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 512)
        for (byte, scalar) in scalarForByte.enumerated() {
            table[Int(scalar.value)] = Int16(byte)
        }
        return table
    }()

    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The vocabulary spelling of a byte sequence.
    static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(scalarForByte[Int(byte)]) }
        return String(scalars)
    }

    /// The bytes a vocabulary token stands for.
    ///
    /// Characters outside the byte map (which a well-formed byte-level vocabulary never
    /// contains) contribute their own UTF-8 encoding, so decoding stays total.
    public static func decode(_ token: String, into bytes: inout [UInt8]) {
        for scalar in token.unicodeScalars {
            let value = Int(scalar.value)
            if value < 512, byteForScalar[value] >= 0 {
                bytes.append(UInt8(byteForScalar[value]))
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
    }
}
