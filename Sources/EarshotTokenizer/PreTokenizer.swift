/// The Qwen2 pre-tokenizer: splits text into the pieces BPE works on.
///
/// It is a hand-written equivalent of the regular expression
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// applied repeatedly (find the match at the current position, emit it, continue after it).
/// `NSRegularExpression` is not used: it is slow and behaves differently on Linux.
/// Regex alternation is ordered, so at each position the alternatives are tried in order and
/// the first that matches wins, even when a later one would match more. Every position is
/// matched by some alternative (a letter by the 2nd, a number by the 3rd, whitespace by the
/// last, anything else by the 4th), so the pieces cover the text exactly.
/// Which pre-tokenizer a vocabulary was trained with.
public enum PreTokenizerPattern: Sendable, Equatable {
    /// Qwen2's split pattern, after NFC normalisation.
    case qwen2
    /// GPT-2's (Whisper), no normalisation.
    case gpt2
}

enum PreTokenizer {
    /// Calls `body` with each piece of `range`, in order, as a range of scalar indices.
    @inline(__always)
    static func split(
        scalars: [Unicode.Scalar], classes: [ScalarClass], range: Range<Int>, pattern: PreTokenizerPattern = .qwen2,
        _ body: (Range<Int>) -> Void
    ) {
        var index = range.lowerBound
        let end = range.upperBound
        while index < end {
            let length = pattern == .qwen2 ? matchLength(scalars: scalars, classes: classes, at: index, end: end)
                : GPT2PreTokenizer.matchLength(scalars: scalars, classes: classes, at: index, end: end)
            body(index..<(index + length))
            index += length
        }
    }

    /// Length (in scalars, at least 1) of the match starting at `start`.
    static func matchLength(scalars: [Unicode.Scalar], classes: [ScalarClass], at start: Int, end: Int) -> Int {
        let scalar = scalars[start]
        let kind = classes[start]

        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if scalar == "'", let length = contractionLength(scalars: scalars, at: start, end: end) {
            return length
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+  (the optional prefix is greedy, so tried first)
        var letterStart = -1
        if kind.isLetter {
            letterStart = start
        } else if !kind.isNewline, !kind.isNumber, start + 1 < end, classes[start + 1].isLetter {
            letterStart = start + 1
        }
        if letterStart >= 0 {
            var index = letterStart + 1
            while index < end, classes[index].isLetter { index += 1 }
            return index - start
        }
        // \p{N}
        if kind.isNumber { return 1 }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        var otherStart = -1
        if kind.isOther {
            otherStart = start
        } else if scalar == " ", start + 1 < end, classes[start + 1].isOther {
            otherStart = start + 1
        }
        if otherStart >= 0 {
            var index = otherStart + 1
            while index < end, classes[index].isOther { index += 1 }
            while index < end, classes[index].isNewline { index += 1 }
            return index - start
        }
        // Only whitespace is left here. Find the maximal whitespace run.
        var runEnd = start + 1
        var lastNewline = kind.isNewline ? start : -1
        while runEnd < end, classes[runEnd].isWhitespace {
            if classes[runEnd].isNewline { lastNewline = runEnd }
            runEnd += 1
        }
        // \s*[\r\n]+ : the greedy \s* backs off to the last CR/LF of the run.
        if lastNewline >= 0 { return lastNewline + 1 - start }
        // \s+(?!\S) : at the end of the text the whole run; before a non-space, the run
        // minus its last character (which then starts the next piece), if that is non-empty.
        if runEnd == end { return runEnd - start }
        if runEnd - 1 > start { return runEnd - 1 - start }
        // \s+
        return runEnd - start
    }

    /// Length of an English contraction (`'s`, `'RE`...) at `start`, matched case-insensitively.
    private static func contractionLength(scalars: [Unicode.Scalar], at start: Int, end: Int) -> Int? {
        guard start + 1 < end else { return nil }
        let first = scalars[start + 1]
        switch first {
        // U+017F LATIN SMALL LETTER LONG S case-folds to "s", as in Oniguruma and Rust regex.
        case "s", "S", "\u{017F}", "t", "T", "m", "M", "d", "D":
            return 2
        case "r", "R", "v", "V":
            guard start + 2 < end else { return nil }
            let second = scalars[start + 2]
            return second == "e" || second == "E" ? 3 : nil
        case "l", "L":
            guard start + 2 < end else { return nil }
            let second = scalars[start + 2]
            return second == "l" || second == "L" ? 3 : nil
        default:
            return nil
        }
    }
}
