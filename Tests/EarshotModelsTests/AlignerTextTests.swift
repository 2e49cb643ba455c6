import EarshotModels
import EarshotTestSupport
import Foundation
import Testing

/// The forced aligner's pure-text steps against the official package's goldens
/// (`qwen3-forced-aligner-tiny/golden/text_cases.json`): word splitting and `fix_timestamp`.
struct AlignerTextTests {
    struct SplitCase: Decodable {
        let id: String, text: String, language: String
        let word_list: [String]
    }
    struct RepairCase: Decodable {
        let id: String, input: [Int]
        let output: [Int]?   // nil for `empty_input`, which raises in the official code
    }
    struct Cases: Decodable {
        let encode_timestamp: [SplitCase]
        let fix_timestamp: [RepairCase]
    }

    static let cases: Cases = {
        let url = Fixtures.root.appendingPathComponent("qwen3-forced-aligner-tiny/golden/text_cases.json")
        return try! JSONDecoder().decode(Cases.self, from: Data(contentsOf: url))
    }()

    /// Every case but Japanese (nagisa, a neural tokenizer) gives the official word list exactly.
    @Test func wordsAreSplitAsTheOfficialProcessor() throws {
        var compared = 0
        for c in Self.cases.encode_timestamp where c.language.lowercased() != "japanese" {
            #expect(try AlignerWords.split(c.text, language: c.language) == c.word_list, "\(c.id)")
            compared += 1
        }
        #expect(compared == 28)
    }

    /// Japanese and Korean need tokenizers Earshot does not have: a clear error, not a wrong split.
    @Test func japaneseAndKoreanAreRefusedByName() {
        for language in ["Japanese", "korean"] {
            #expect(throws: ModelError.self) { try AlignerWords.split("東京", language: language) }
            do { _ = try AlignerWords.split("x", language: language) } catch {
                #expect("\(error)".contains(language))
            }
        }
    }

    /// `fix_timestamp` on all 23 official sequences, including the truncation of 919.999... to 919.
    @Test func repairsAsFixTimestamp() {
        let sequences = Self.cases.fix_timestamp.filter { $0.output != nil }
        #expect(sequences.count == 23)
        for c in sequences {
            #expect(TimestampRepair.repair(c.input.map(Double.init)) == c.output, "\(c.id)")
        }
        #expect(TimestampRepair.repair([]) == [])
    }
}
