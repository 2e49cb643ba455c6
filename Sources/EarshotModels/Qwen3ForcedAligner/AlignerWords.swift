/// The official `Qwen3ForceAlignProcessor.encode_timestamp` word splitting, on Unicode scalars
/// (Python strings are code points, so `é` written as `e` + U+0301 is two of them, and the mark goes).
///
/// Any language but Japanese and Korean: split on Python's `str.split()` whitespace, keep only
/// letters (L*), numbers (N*) and the ASCII apostrophe in each piece, drop empty pieces, then cut
/// every CJK ideograph out as a word of its own (the runs between them stay whole). Japanese and
/// Korean need the official package's morphological tokenizers (nagisa, soynlp); they are refused.
public enum AlignerWords {
    public static func split(_ text: String, language: String) throws(ModelError) -> [String] {
        try spans(text, language: language).map(\.text)
    }

    /// A word and where it starts in the transcript: the offset, in Unicode scalars, of its first
    /// kept scalar (so the punctuation and spaces around it can be given back for display).
    public struct Span: Sendable, Equatable {
        public var text: String
        public var start: Int
    }

    /// The words of `split`, each with its start in `text.unicodeScalars`.
    public static func spans(_ text: String, language: String) throws(ModelError) -> [Span] {
        let lowered = language.lowercased()
        guard lowered != "japanese", lowered != "korean" else {
            throw .unsupportedOption("aligning \(language) needs the official package's morphological tokenizer "
                + "(nagisa for Japanese, soynlp for Korean), which Earshot does not have")
        }
        var words: [Span] = []
        var run = String.UnicodeScalarView(), runStart = 0
        func flush() {
            if !run.isEmpty { words.append(Span(text: String(run), start: runStart)) }
            run = String.UnicodeScalarView()
        }
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            if isPythonSpace(scalar) {
                flush()   // pieces end at whitespace
            } else if isKept(scalar) {
                if isCJKIdeograph(scalar) {
                    flush()
                    words.append(Span(text: String(scalar), start: offset))
                } else {
                    if run.isEmpty { runStart = offset }
                    run.append(scalar)
                }
            }
        }
        flush()
        return words
    }

    /// Python's `str.isspace`: the White_Space property plus U+001C...U+001F (bidi class B/S).
    static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
    }

    /// Letters, numbers and `'` survive the cleaning; everything else (punctuation, symbols,
    /// combining marks, format characters such as U+200B) is deleted.
    static func isKept(_ s: Unicode.Scalar) -> Bool {
        if s == "'" { return true }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// The ideograph blocks the official code cuts out (U+3007, U+2F800..., U+2CEB0... and U+30000... are not among them).
    static func isCJKIdeograph(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B820...0x2CEAF, 0xF900...0xFAFF:
            return true
        default:
            return false
        }
    }
}
