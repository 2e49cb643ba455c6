/// The GPT-2 pre-tokenizer (Whisper's `tokenizer.json`: a top-level `ByteLevel` pre-tokenizer with
/// `use_regex`), a hand-written equivalent of
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// applied as `PreTokenizer` applies Qwen2's: at each position the first alternative that matches
/// wins. Unlike Qwen2's pattern, contractions are case-sensitive, numbers are runs, a letter run
/// takes at most one leading space (no other prefix), and CR/LF are ordinary whitespace.
enum GPT2PreTokenizer {
    /// Length (in scalars, at least 1) of the match starting at `start`.
    static func matchLength(scalars: [Unicode.Scalar], classes: [ScalarClass], at start: Int, end: Int) -> Int {
        let scalar = scalars[start]
        if scalar == "'", let length = contractionLength(scalars: scalars, at: start, end: end) { return length }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: one optional space, then a run of one class.
        let runStart = scalar == " " && start + 1 < end && !classes[start + 1].isWhitespace ? start + 1 : start
        let kind = classes[runStart]
        if !kind.isWhitespace {
            var index = runStart + 1
            while index < end, sameRun(classes[index], kind) { index += 1 }
            return index - start
        }
        // Whitespace: `\s+(?!\S)` gives the run back to its last character when a non-space follows
        // (that character then starts the next piece), the whole run at the end of the text; `\s+`
        // takes a single whitespace character before a non-space.
        var runEnd = start + 1
        while runEnd < end, classes[runEnd].isWhitespace { runEnd += 1 }
        if runEnd == end { return runEnd - start }
        return runEnd - 1 > start ? runEnd - 1 - start : 1
    }

    @inline(__always)
    private static func sameRun(_ a: ScalarClass, _ b: ScalarClass) -> Bool {
        if b.isLetter { return a.isLetter }
        if b.isNumber { return a.isNumber }
        return a.isOther
    }

    /// `'s`, `'t`, `'m`, `'d` (2 scalars), `'re`, `'ve`, `'ll` (3), lowercase only.
    private static func contractionLength(scalars: [Unicode.Scalar], at start: Int, end: Int) -> Int? {
        guard start + 1 < end else { return nil }
        switch scalars[start + 1] {
        case "s", "t", "m", "d": return 2
        case "r", "v":
            return start + 2 < end && scalars[start + 2] == "e" ? 3 : nil
        case "l":
            return start + 2 < end && scalars[start + 2] == "l" ? 3 : nil
        default: return nil
        }
    }
}
