/// The character classes the Qwen pre-tokenizer pattern distinguishes, as a bit set.
///
/// `\p{L}` and `\p{N}` are the Unicode general categories L* and N*; `\s` is the Unicode
/// `White_Space` property, which is what Rust `regex` and Oniguruma (used by HF tokenizers)
/// match. CR and LF are whitespace *and* carry the `newline` bit, because the pattern treats
/// them specially (`[\r\n]`, `[^\r\n...]`).
struct ScalarClass: OptionSet, Sendable {
    let rawValue: UInt8

    static let letter = ScalarClass(rawValue: 1)
    static let number = ScalarClass(rawValue: 2)
    static let whitespace = ScalarClass(rawValue: 4)
    static let newline = ScalarClass(rawValue: 8)

    /// Neither letter, number nor whitespace: what `[^\s\p{L}\p{N}]` matches.
    var isOther: Bool { rawValue & 7 == 0 }
    var isLetter: Bool { rawValue & 1 != 0 }
    var isNumber: Bool { rawValue & 2 != 0 }
    var isWhitespace: Bool { rawValue & 4 != 0 }
    var isNewline: Bool { rawValue & 8 != 0 }

    /// Classes of the ASCII range, precomputed because ASCII dominates most input.
    private static let asciiTable: [ScalarClass] = (0..<128).map { value in
        classify(slow: Unicode.Scalar(UInt8(value)))
    }

    /// The class of one scalar.
    @inline(__always)
    static func of(_ scalar: Unicode.Scalar) -> ScalarClass {
        scalar.value < 128 ? asciiTable[Int(scalar.value)] : classify(slow: scalar)
    }

    private static func classify(slow scalar: Unicode.Scalar) -> ScalarClass {
        if scalar == "\r" || scalar == "\n" { return [.whitespace, .newline] }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return properties.isWhitespace ? .whitespace : []
        }
    }
}
