import Testing
@testable import EarshotTokenizer

/// Exact agreement with HF `Qwen2TokenizerFast` on the fixture cases.
struct ParityTests {
    @Test func everyFixtureCaseEncodesToTheReferenceIDs() throws {
        let tokenizer = try SharedTokenizer.get()
        let cases = try TokenizerCases.load()
        #expect(cases.count == 29)
        for item in cases {
            #expect(tokenizer.encode(item.text) == item.ids, "encode \(item.text.debugDescription)")
        }
    }

    @Test func everyFixtureCaseDecodesToTheReferenceText() throws {
        let tokenizer = try SharedTokenizer.get()
        for item in try TokenizerCases.load() {
            #expect(tokenizer.decode(item.ids) == item.decoded, "decode \(item.text.debugDescription)")
        }
    }

    @Test func vocabularyShape() throws {
        let tokenizer = try SharedTokenizer.get()
        #expect(tokenizer.vocabularySize == 151_705)
        #expect(tokenizer.addedTokens.count == 62)
        #expect(tokenizer.id(for: "<asr_text>") == 151_704)
        #expect(tokenizer.id(for: "<|im_end|>") == 151_645)
        #expect(tokenizer.id(for: "Ġworld") == 1879)
        #expect(tokenizer.token(for: 1879) == "Ġworld")
        #expect(tokenizer.token(for: 151_644) == "<|im_start|>")
        #expect(tokenizer.token(for: -1) == nil)
        #expect(tokenizer.token(for: 10_000_000) == nil)
        #expect(tokenizer.specialIDs.contains(151_645))
        #expect(!tokenizer.specialIDs.contains(151_704))
        // <tool_call>, </tool_call>, <tool_response>, </tool_response>, <think>, </think>, <asr_text>
        #expect(tokenizer.specialIDs.count == 62 - 7)
    }
}
