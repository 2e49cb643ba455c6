import Testing
@testable import EarshotTokenizer

struct StreamingDecoderTests {
    @Test(arguments: [
        "emoji 😀👍🏽 and 🇩🇪 flags", "你好，世界！今天天气很好。", "語音認識のテストです。",
        "नमस्ते दुनिया", "mixed中文English混合123", "plain ascii text",
    ])
    func streamedTextEqualsDecode(_ text: String) throws {
        let tokenizer = try SharedTokenizer.get()
        let ids = tokenizer.encode(text)
        var decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecial: false)
        var pieces: [String] = []
        for id in ids { pieces.append(decoder.push(id)) }
        pieces.append(decoder.finish())
        #expect(pieces.joined() == tokenizer.decode(ids))
        #expect(pieces.joined() == text)
        #expect(!pieces.joined().contains("\u{FFFD}"))
    }

    @Test func incompleteCharacterIsHeldBack() throws {
        let tokenizer = try SharedTokenizer.get()
        // " 🇩" has no token of its own: it is " " + F0 9F, then 87, then A9 (fixture case).
        let ids = tokenizer.encode(" 🇩🇪")
        #expect(ids == [11162, 229, 102, 145_336])
        #expect(tokenizer.decode([ids[0]]).contains("\u{FFFD}"))  // the first token is a fragment
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        #expect(decoder.push(ids[0]) == " ")  // the space is complete, F0 9F is held back
        var text = " "
        for id in ids.dropFirst() {
            let piece = decoder.push(id)
            #expect(!piece.contains("\u{FFFD}"))
            text += piece
        }
        #expect(text == " 🇩🇪")
        #expect(decoder.finish() == "")
    }

    @Test func finishFlushesAnUnfinishedSequence() throws {
        let tokenizer = try SharedTokenizer.get()
        let ids = Array(tokenizer.encode("a 🇩🇪").prefix(2))  // "a", then " " + F0 9F
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var text = ""
        for id in ids { text += decoder.push(id) }
        #expect(text == "a ")
        text += decoder.finish()
        #expect(text == tokenizer.decode(ids))
        #expect(text == "a \u{FFFD}")
    }

    @Test func skipSpecialDropsSpecialTokens() throws {
        let tokenizer = try SharedTokenizer.get()
        let ids = tokenizer.encode("<|im_start|>hi<asr_text>你好<|im_end|>")
        var decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecial: true)
        var text = ""
        for id in ids { text += decoder.push(id) }
        text += decoder.finish()
        #expect(text == "hi<asr_text>你好")
    }

    @Test func prefixLengthRules() {
        #expect(StreamingDecoder.completePrefixLength([]) == 0)
        #expect(StreamingDecoder.completePrefixLength([0x41, 0xE4, 0xBD]) == 1)
        #expect(StreamingDecoder.completePrefixLength([0x41, 0xE4, 0xBD, 0xA0]) == 4)
        #expect(StreamingDecoder.completePrefixLength([0xF0, 0x9F, 0x98]) == 0)
        #expect(StreamingDecoder.completePrefixLength([0x80, 0x80, 0x80, 0x80]) == 4)
        #expect(StreamingDecoder.completePrefixLength([0x41, 0xFF]) == 2)
    }
}
