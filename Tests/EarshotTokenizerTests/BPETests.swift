import Foundation
import Testing
@testable import EarshotTokenizer

/// BPE and pre-tokenizer rules on small hand-made inputs.
struct BPETests {
    /// A tokenizer over a tiny vocabulary ("a", "b", "c", "Ġ" and merges listed in order).
    func tiny(merges: [String], extra: [String] = []) throws -> Qwen2Tokenizer {
        var tokens = ["a", "b", "c", "Ġ"]
        for merge in merges { tokens.append(merge.replacingOccurrences(of: " ", with: "")) }
        tokens += extra
        var seen = Set<String>()
        tokens = tokens.filter { seen.insert($0).inserted }
        let vocab = "{" + tokens.enumerated().map { "\(jsonQuoted($0.element)): \($0.offset)" }
            .joined(separator: ", ") + "}"
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("vocab.json", vocab)
        try directory.write("merges.txt", (["#version: 0.2"] + merges).joined(separator: "\n") + "\n")
        return try Qwen2Tokenizer(directory: directory.url)
    }

    @Test func lowestRankMergesFirst() throws {
        // "b c" outranks "a b", so "abc" becomes a + bc, not ab + c.
        let tokenizer = try tiny(merges: ["b c", "a b", "ab c"])
        #expect(tokenizer.encode("abc").map { tokenizer.token(for: $0)! } == ["a", "bc"])
        let other = try tiny(merges: ["a b", "b c", "ab c"])
        #expect(other.encode("abc").map { other.token(for: $0)! } == ["abc"])
    }

    @Test func equalRanksGoLeftmostFirst() throws {
        let tokenizer = try tiny(merges: ["a a"])
        #expect(tokenizer.encode("aaa").map { tokenizer.token(for: $0)! } == ["aa", "a"])
        // The heap path (48+ symbols) follows the same rule.
        let long = tokenizer.encode(String(repeating: "a", count: 61)).map { tokenizer.token(for: $0)! }
        #expect(long == Array(repeating: "aa", count: 30) + ["a"])
    }

    @Test func bytesMissingFromTheVocabularyAreDropped() throws {
        let tokenizer = try tiny(merges: ["a b"])
        #expect(tokenizer.encode("axb").map { tokenizer.token(for: $0)! } == ["a", "b"])
    }

    /// Pieces produced by the pre-tokenizer, as strings.
    func pieces(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        let classes = scalars.map(ScalarClass.of)
        var result: [String] = []
        PreTokenizer.split(scalars: scalars, classes: classes, range: 0..<scalars.count) { range in
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            result.append(String(view))
        }
        return result
    }

    @Test func preTokenizerFollowsTheRegexAlternationOrder() {
        // " '" is taken by ` ?[^\s\p{L}\p{N}]+`, so the apostrophe cannot start "'s" any more.
        #expect(pieces("I'm DON'T 'sam") == ["I", "'m", " DON", "'T", " '", "sam"])
        #expect(pieces("'sam x'LL") == ["'s", "am", " x", "'LL"])
        #expect(pieces("a  b") == ["a", " ", " b"])
        #expect(pieces("a \n\n b") == ["a", " \n\n", " b"])
        #expect(pieces("x  ") == ["x", "  "])
        #expect(pieces("x\t\ty") == ["x", "\t", "\ty"])
        #expect(pieces("12ab") == ["1", "2", "ab"])
        #expect(pieces("!!\n\nok") == ["!!\n\n", "ok"])
        #expect(pieces(" ??x") == [" ??", "x"])
        #expect(pieces("\u{3000}漢字") == ["\u{3000}漢字"])  // ideographic space is \s, not \r\n
        #expect(pieces("Ⅻ½") == ["Ⅻ", "½"])  // Nl and No are numbers, one per piece
        #expect(pieces("") == [])
    }
}
