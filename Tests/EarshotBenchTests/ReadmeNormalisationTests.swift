import EarshotRuntime
import Testing
@testable import EarshotBench

/// `WordErrorRate.Normalization.lettersDigitsApostrophes`: the speech set README's word rule.
@Suite struct ReadmeNormalisationTests {
    static func words(_ text: String) -> [String] { WordErrorRate.words(text, normalization: .lettersDigitsApostrophes) }

    @Test func apostrophesAreKeptEverywhere() {
        #expect(Self.words("It's easy") == ["it's", "easy"])
        #expect(Self.words("don’t") == ["don't"])                  // U+2019 reads as an apostrophe
        #expect(Self.words("'quoted' dogs'") == ["'quoted'", "dogs'"])
        #expect(Self.words("rock ' roll") == ["rock", "'", "roll"])
    }

    @Test func punctuationHyphensAndSymbolsSplit() {
        #expect(Self.words("well-known, well.known;end") == ["well", "known", "well", "known", "end"])
        #expect(Self.words("a_b a/b a+b (a) \"a\" a—b") == ["a", "b", "a", "b", "a", "b", "a", "a", "a", "b"])
        #expect(Self.words("  spaced\tout\nlines  ") == ["spaced", "out", "lines"])
    }

    @Test func caseIsFoldedAndDigitsKept() {
        #expect(Self.words("The BIRCH Canoe") == ["the", "birch", "canoe"])
        #expect(Self.words("4 hours, 12:45 and 3,210 items; h2o") == ["4", "hours", "12", "45", "and", "3", "210", "items", "h2o"])
        #expect(Self.words("$5 50% É²") == ["5", "50", "é²"])      // superscripts are digits to isdigit()
    }

    @Test func differsFromTheMultilingualRuleWhereTheReadmeSays() {
        // Quotes stay and ideographs do not split: the README's rule, not the default one.
        #expect(Self.words("'hi' 北京") == ["'hi'", "北京"])
        #expect(WordErrorRate.words("'hi' 北京") == ["hi", "北", "京"])
        #expect(WordErrorRate.compute(reference: "It's four", hypothesis: "its 4", normalization: .lettersDigitsApostrophes) == 1)
    }
}
