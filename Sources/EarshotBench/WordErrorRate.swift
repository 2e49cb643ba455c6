/// Word error rate: the word-level edit distance between a reference transcript and a hypothesis,
/// divided by the number of reference words.
///
/// Both texts are normalised first, by one of two rules (`Normalization`):
/// - `.multilingual` (the default): Unicode lowercase, punctuation and symbols removed (apostrophes
///   inside words kept), whitespace collapsed. Scripts written without spaces (Chinese, Japanese
///   kana, Thai) count each character as one word, so on such text the rate is a character error rate.
/// - `.lettersDigitsApostrophes`: the speech set's rule (`Tests/Fixtures/speech/README.md`), which
///   is also what the faster-whisper comparison computes: lowercase, keep letters, digits and
///   apostrophes, split on everything else.
///
/// An empty reference (after normalisation) has no words to divide by: the rate is 0 when the
/// hypothesis is empty too and 1 otherwise (everything the hypothesis says is wrong).
public enum WordErrorRate {
    /// The edit operations behind a rate. When several alignments have the same cost, the split
    /// prefers substitutions, then deletions, then insertions; the total is always the minimum.
    public struct Counts: Sendable, Codable, Equatable {
        public var substitutions: Int
        public var deletions: Int
        public var insertions: Int
        public var referenceWords: Int

        public init(substitutions: Int, deletions: Int, insertions: Int, referenceWords: Int) {
            self.substitutions = substitutions
            self.deletions = deletions
            self.insertions = insertions
            self.referenceWords = referenceWords
        }

        /// Substitutions + deletions + insertions: the word-level Levenshtein distance.
        public var errors: Int { substitutions + deletions + insertions }

        /// errors / referenceWords, in [0, inf); for an empty reference 0 or 1 (see the type's doc).
        public var rate: Double {
            guard referenceWords > 0 else { return errors == 0 ? 0 : 1 }
            return Double(errors) / Double(referenceWords)
        }
    }

    /// How texts are cut into the words the rate compares.
    public enum Normalization: String, Sendable, Codable, CaseIterable {
        /// Lowercase; punctuation and symbols split words, but an apostrophe between two letters or
        /// digits stays ("don't"); Han, kana and Thai count one word per character.
        case multilingual
        /// The speech set's README, to the letter: lowercase, keep letters, digits and apostrophes,
        /// split on everything else. Judged per Unicode scalar as Python's `str.isalpha()` /
        /// `str.isdigit()` judge characters (letters are categories L*; digits have a decimal or
        /// digit numeric type), with U+2019 read as an apostrophe. Apostrophes are kept wherever
        /// they are, quotes included ("'hi'" is one word, "'hi'").
        case lettersDigitsApostrophes
    }

    /// The word error rate of `hypothesis` against `reference`, e.g. 0.25 for one error in four words.
    public static func compute(reference: String, hypothesis: String,
                               normalization: Normalization = .multilingual) -> Double {
        counts(reference: reference, hypothesis: hypothesis, normalization: normalization).rate
    }

    /// Substitutions, deletions and insertions turning the reference into the hypothesis.
    /// O(n*m) time and O(min(n, m)) memory for n reference and m hypothesis words.
    public static func counts(reference: String, hypothesis: String,
                              normalization: Normalization = .multilingual) -> Counts {
        // Words become integers once, so the O(n*m) loop compares Ints, not Strings.
        var ids: [String: Int] = [:]
        func intern(_ words: [String]) -> [Int] {
            words.map { word in
                if let id = ids[word] { return id }
                let id = ids.count
                ids[word] = id
                return id
            }
        }
        let ref = intern(words(reference, normalization: normalization))
        let hyp = intern(words(hypothesis, normalization: normalization))
        return align(reference: ref, hypothesis: hyp)
    }

    /// The normalised words of `text`, as the rate compares them.
    public static func words(_ text: String, normalization: Normalization = .multilingual) -> [String] {
        switch normalization {
        case .multilingual: return multilingualWords(text)
        case .lettersDigitsApostrophes: return lettersDigitsApostrophesWords(text)
        }
    }

    private static func lettersDigitsApostrophesWords(_ text: String) -> [String] {
        var out: [String] = []
        var word = String.UnicodeScalarView()
        for scalar in text.lowercased().unicodeScalars {
            let c = scalar == "\u{2019}" ? "'" : scalar
            if c == "'" || isLetter(c) || isDigit(c) {
                word.append(c)
            } else if !word.isEmpty {
                out.append(String(word))
                word = String.UnicodeScalarView()
            }
        }
        if !word.isEmpty { out.append(String(word)) }
        return out
    }

    private static func multilingualWords(_ text: String) -> [String] {
        // Typographic apostrophes become ASCII ones so "don’t" matches "don't".
        let chars = Array(text.lowercased().replacing("\u{2019}", with: "'"))
        var out: [String] = []
        var word = ""
        func flush() {
            if !word.isEmpty { out.append(word); word = "" }
        }
        for (i, c) in chars.enumerated() {
            if c.isWhitespace {
                flush()
            } else if isSpacelessScript(c) {
                flush()
                out.append(String(c))
            } else if c == "'" {
                // Kept only between two letters or digits ("don't", "rock'n'roll"); quotes go.
                let inside = i > 0 && i + 1 < chars.count && isWordCharacter(chars[i - 1]) && isWordCharacter(chars[i + 1])
                if inside { word.append(c) } else { flush() }
            } else if isPunctuationOrSymbol(c) {
                // A separator, like whitespace: "well-known" -> "well known", "a,b" -> "a b".
                flush()
            } else {
                word.append(c)
            }
        }
        flush()
        return out
    }

    // MARK: - Alignment

    /// One DP cell: its cost and how that cost splits into the three operations.
    private struct Cell {
        var sub = 0, del = 0, ins = 0
        var cost: Int { sub + del + ins }
    }

    /// Levenshtein over two rows of the shorter sequence. If the hypothesis is the longer one the
    /// roles swap: a move down then consumes a hypothesis word (an insertion, not a deletion), and
    /// `down` / `right` count each move as the operation it really is.
    private static func align(reference: [Int], hypothesis: [Int]) -> Counts {
        let swapped = hypothesis.count > reference.count
        let outer = swapped ? hypothesis : reference   // rows: the longer sequence
        let inner = swapped ? reference : hypothesis   // columns: the shorter one
        // Moving down a row consumes an outer word alone: a deletion if outer is the reference.
        func down(_ c: Cell) -> Cell {
            var c = c
            if swapped { c.ins += 1 } else { c.del += 1 }
            return c
        }
        func right(_ c: Cell) -> Cell {
            var c = c
            if swapped { c.del += 1 } else { c.ins += 1 }
            return c
        }
        var previous = [Cell](repeating: Cell(), count: inner.count + 1)
        for j in 1..<previous.count { previous[j] = right(previous[j - 1]) }
        var current = previous
        for i in 0..<outer.count {
            current[0] = down(previous[0])
            for j in stride(from: 1, through: inner.count, by: 1) {
                var diagonal = previous[j - 1]
                if outer[i] != inner[j - 1] { diagonal.sub += 1 }
                let fromAbove = down(previous[j])
                let fromLeft = right(current[j - 1])
                // Ties prefer a substitution, then a deletion, then an insertion.
                let deletionFirst = swapped ? fromLeft : fromAbove
                let insertionLast = swapped ? fromAbove : fromLeft
                var best = diagonal
                if deletionFirst.cost < best.cost { best = deletionFirst }
                if insertionLast.cost < best.cost { best = insertionLast }
                current[j] = best
            }
            swap(&previous, &current)
        }
        let last = previous[inner.count]
        return Counts(substitutions: last.sub, deletions: last.del, insertions: last.ins,
                      referenceWords: reference.count)
    }

    // MARK: - Character classes

    private static func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber }

    /// General categories Lu, Ll, Lt, Lm, Lo (Python's `isalpha`).
    private static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// Numeric type decimal or digit (Python's `isdigit`: 0-9, other scripts' digits, superscripts).
    private static func isDigit(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.numericType {
        case .decimal?, .digit?: return true
        default: return false
        }
    }

    /// Unicode punctuation (P*) and symbol (S*) categories, judged by the character's first scalar.
    private static func isPunctuationOrSymbol(_ c: Character) -> Bool {
        guard let scalar = c.unicodeScalars.first else { return false }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    /// Letters of scripts written without spaces between words: Han ideographs, Japanese kana,
    /// Thai. A `Character` is a whole grapheme cluster, so Thai vowel and tone marks stay with
    /// their consonant. (Korean Hangul is written with spaces and stays word-based.)
    private static func isSpacelessScript(_ c: Character) -> Bool {
        guard let v = c.unicodeScalars.first?.value, c.isLetter || c.isNumber else { return false }
        switch v {
        case 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x323AF: return true  // Han
        case 0x3040...0x30FF, 0x31F0...0x31FF, 0xFF66...0xFF9D: return true                    // kana
        case 0x0E00...0x0E7F: return true                                                      // Thai
        default: return false
        }
    }
}
