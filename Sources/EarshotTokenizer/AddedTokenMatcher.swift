/// A token added on top of the BPE vocabulary (`<|im_end|>`, `<asr_text>`...).
public struct AddedToken: Sendable, Hashable {
    public let id: Int
    public let content: String
    /// Special tokens are dropped by `decode(_:skipSpecial: true)`.
    public let special: Bool

    public init(id: Int, content: String, special: Bool) {
        self.id = id
        self.content = content
        self.special = special
    }
}

/// Finds added tokens in text before BPE sees it.
///
/// Matching is leftmost-longest, like the Aho-Corasick matcher of HF tokenizers: scanning
/// left to right, the first position where any added token starts wins, and among tokens
/// starting there the longest. The `lstrip`/`rstrip`/`single_word` options of HF added tokens
/// are not supported (Qwen sets them all to false).
struct AddedTokenMatcher: Sendable {
    /// A piece of text: either plain text (scalar index range) or one added token.
    enum Segment: Equatable {
        case text(Range<Int>)
        case token(Int)
    }

    /// Candidates keyed by first scalar, each list sorted longest first.
    private let candidates: [Unicode.Scalar: [(scalars: [Unicode.Scalar], id: Int)]]

    /// `asciiStarts[b]` tells whether some token starts with ASCII scalar `b`; with
    /// `nonASCIIStarts` it lets the scan skip most positions without a dictionary lookup.
    private let asciiStarts: [Bool]
    private let nonASCIIStarts: Bool

    var isEmpty: Bool { candidates.isEmpty }

    init(tokens: [AddedToken]) {
        var candidates: [Unicode.Scalar: [(scalars: [Unicode.Scalar], id: Int)]] = [:]
        for token in tokens {
            let scalars = Array(token.content.unicodeScalars)
            guard let first = scalars.first else { continue }  // empty content can never match
            candidates[first, default: []].append((scalars, token.id))
        }
        for key in candidates.keys {
            // Longest first; equal lengths by id so the order does not depend on input order.
            candidates[key]?.sort { lhs, rhs in
                lhs.scalars.count != rhs.scalars.count ? lhs.scalars.count > rhs.scalars.count : lhs.id < rhs.id
            }
        }
        self.candidates = candidates
        var asciiStarts = [Bool](repeating: false, count: 128)
        for key in candidates.keys where key.value < 128 { asciiStarts[Int(key.value)] = true }
        self.asciiStarts = asciiStarts
        self.nonASCIIStarts = candidates.keys.contains { $0.value >= 128 }
    }

    /// Calls `body` with the segments of `scalars`, in order.
    func split(_ scalars: [Unicode.Scalar], _ body: (Segment) -> Void) {
        var textStart = 0
        var index = 0
        let count = scalars.count
        outer: while index < count {
            let value = scalars[index].value
            let possible = value < 128 ? asciiStarts[Int(value)] : nonASCIIStarts
            if possible, let list = candidates[scalars[index]] {
                for candidate in list where matches(candidate.scalars, in: scalars, at: index) {
                    if textStart < index { body(.text(textStart..<index)) }
                    body(.token(candidate.id))
                    index += candidate.scalars.count
                    textStart = index
                    continue outer
                }
            }
            index += 1
        }
        if textStart < count { body(.text(textStart..<count)) }
    }

    private func matches(_ pattern: [Unicode.Scalar], in scalars: [Unicode.Scalar], at start: Int) -> Bool {
        guard start + pattern.count <= scalars.count else { return false }
        for offset in 1..<pattern.count where scalars[start + offset] != pattern[offset] {
            return false
        }
        return true
    }
}
