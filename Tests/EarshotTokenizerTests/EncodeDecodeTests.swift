import Foundation
import Testing
@testable import EarshotTokenizer

struct EncodeDecodeTests {
    static let samples = [
        "Hello, world!", "  two  spaces  ", "tabs\tand\nnew\r\nlines\n\n", "Ünïcödé façade",
        "e\u{301}le\u{300}ve", "한국어 텍스트", "日本語とEnglishの混在", "🙂🙃 emoji 👩‍👩‍👧‍👦",
        "math: ∑ x² ≤ ∞", "quotes 'single' \"double\" it's", "\u{0}\u{7}\u{1B}[0m control",
        "Ελληνικά και русский", "x = [1, 2, 3]; // code", "ＦＵＬＬ width", "🇯🇵🇫🇷", "٣٤٥ Arabic digits",
        String(repeating: "=", count: 300), String(repeating: "ab", count: 200), "",
    ]

    @Test(arguments: samples)
    func decodeOfEncodeIsTheNFCText(_ text: String) throws {
        let tokenizer = try SharedTokenizer.get()
        let ids = tokenizer.encode(text)
        #expect(tokenizer.decode(ids) == text.precomposedStringWithCanonicalMapping)
        #expect(ids.allSatisfy { $0 >= 0 && $0 < 151_643 })
    }

    @Test func specialTokensInTextBecomeSingleIDs() throws {
        let tokenizer = try SharedTokenizer.get()
        let ids = tokenizer.encode("<|im_start|>system\nYou are<|im_end|><|im_end|>x<|audio_pad|>")
        #expect(ids.first == 151_644)
        #expect(ids.filter { $0 == 151_645 }.count == 2)
        #expect(ids.last == 151_676)
        #expect(!ids.contains(27))  // "<" never appears as a plain token
    }

    @Test func addedTokenMatchingCanBeDisabled() throws {
        let tokenizer = try SharedTokenizer.get()
        let ids = tokenizer.encode("<|im_end|>", matchAddedTokens: false)
        #expect(!ids.contains(151_645))
        #expect(ids.count > 1)
        #expect(tokenizer.decode(ids) == "<|im_end|>")
    }

    @Test func skipSpecialKeepsAsrTextAndDropsImEnd() throws {
        let tokenizer = try SharedTokenizer.get()
        let ids = tokenizer.encode("language English<asr_text>Hello there.<|im_end|>")
        #expect(ids.contains(151_704))
        #expect(ids.last == 151_645)
        #expect(tokenizer.decode(ids, skipSpecial: true) == "language English<asr_text>Hello there.")
        #expect(tokenizer.decode(ids) == "language English<asr_text>Hello there.<|im_end|>")
    }

    @Test func unknownIDsAreSkippedWhenDecoding() throws {
        let tokenizer = try SharedTokenizer.get()
        #expect(tokenizer.decode([9707, -5, 999_999_999, 1879]) == "Hello world")
    }

    @Test func invalidUTF8IsReplacedLikePython() throws {
        let tokenizer = try SharedTokenizer.get()
        let flag = tokenizer.encode(" 🇩🇪")  // " " + F0 9F, 87, A9, then 🇪 (fixture case)
        #expect(flag.count == 4)
        // Only the first token: the unfinished sequence F0 9F becomes one U+FFFD.
        #expect(tokenizer.decode([flag[0]]) == " \u{FFFD}")
        // An unfinished sequence followed by ASCII, and a lone continuation byte.
        #expect(tokenizer.decode([flag[0], 32]) == " \u{FFFD}A")
        #expect(tokenizer.decode([flag[1]]) == "\u{FFFD}")
        // A lone continuation byte (Ģ, U+0122, is byte 0x80 in the GPT-2 map) between letters.
        let continuation = try #require(tokenizer.id(for: "\u{0122}"))
        #expect(tokenizer.decode([32, continuation, 33]) == "A\u{FFFD}B")
    }

    @Test func longRepeatedRunsMatchTheShortPath() throws {
        // Words of 48+ bytes use the heap merger; both paths must agree.
        let tokenizer = try SharedTokenizer.get()
        let long = String(repeating: "a", count: 50)
        let cases = try TokenizerCases.load()
        let reference = try #require(cases.first { $0.text == long })
        #expect(tokenizer.encode(long) == reference.ids)
        let text = String(repeating: "-=", count: 1000)
        #expect(tokenizer.decode(tokenizer.encode(text)) == text)
    }
}
