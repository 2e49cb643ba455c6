import EarshotModels
import EarshotTestSupport
import EarshotTokenizer
import Foundation
import Testing
@testable import EarshotRuntime

/// Initial prompts: Whisper's tokenizer.json encodes text as Hugging Face tokenizers does (GPT-2
/// pre-tokenizer, no normalisation, added tokens matched), and a prompted transcription equals
/// faster-whisper's with the same `initial_prompt`. Prompts that cannot be used are typed errors.
@Suite(.serialized) struct WhisperPromptTests {
    static let reference = Fixtures.speech.appendingPathComponent("faster-whisper-default-reference.json")
    static let encodings = Fixtures.speech.appendingPathComponent("whisper-prompt-encoding.json")

    @Test(.enabled(if: WhisperFixtures.available("tiny.en")))
    func tokenizerJSONEncodesAsHuggingFace() throws {
        let url = try WhisperFixtures.require("tiny.en").appendingPathComponent("tokenizer.json")
        let t = try Qwen2Tokenizer(tokenizerJSON: url)
        #expect(t.pattern == .gpt2)
        let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.encodings)) as! [String: Any]
        let cases = fixture["cases"] as! [String: [Int]]
        #expect(cases.count == 10)
        for (text, ids) in cases { #expect(t.encode(text) == ids, "\(text.debugDescription)") }
    }

    @Test(.enabled(if: WhisperFixtures.available("tiny.en")),
          .disabled(if: Sanitizer.isActive, "real-weight decoding: minutes under a sanitizer"))
    func promptedTranscriptsEqualFasterWhisper() throws {
        let m = try WhisperModel(directory: try WhisperFixtures.require("tiny.en").path)
        defer { m.close() }
        let t = try Session(model: m)
        defer { t.close() }
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.reference)) as! [String: Any]
        let prompted = ((reference["initial_prompt"] as! [String: Any])["tiny.en"] as! [String: Any])["float32"] as! [String: [String: Any]]
        for (file, want) in prompted.sorted(by: { $0.key < $1.key }) {
            var options = TranscriptionOptions()
            options.context = want["initial_prompt"] as! String
            let r = try t.transcribe(path: Fixtures.speech.appendingPathComponent(file).path, options: options)
            #expect(r.text == want["text"] as? String, "\(file)")
            #expect(r.promptTokens > 3)                       // <|startofprev|>, the prompt, <|startoftranscript|>
        }
        // 224 tokens is one too many (" word" is one token).
        let long = String(repeating: " word", count: 224)
        #expect(throws: ModelError.promptTooLong(tokens: 224, limit: 223)) { try m.encodePrompt(long) }
        #expect(try m.encodePrompt(String(repeating: " word", count: 223)).count == 223)
        do {
            _ = try t.transcribe(path: Fixtures.speech.appendingPathComponent("h01.wav").path,
                                 options: .init(context: long, maxNewTokens: 8))
            Issue.record("a 224-token prompt was accepted")
        } catch {
            guard case .model(.promptTooLong(224, 223)) = error else { Issue.record("\(error)"); return }
        }
    }

    @Test func aModelWithoutTokenizerJSONRefusesPromptsByName() throws {
        let m = try WhisperModel(directory: WhisperSynthetic.ct2(.float32))   // vocabulary.txt only
        defer { m.close() }
        let t = try Session(model: m)
        defer { t.close() }
        do {
            _ = try t.transcribe(WhisperSynthetic.h01, options: .init(context: "names", maxNewTokens: 4))
            Issue.record("a prompt was accepted without tokenizer.json")
        } catch {
            guard case .model(.unsupportedOption(let message)) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("tokenizer.json"))
        }
        // A prompt of only whitespace is no prompt.
        #expect(try t.transcribe(WhisperSynthetic.h01, options: .init(context: "  \n", maxNewTokens: 4)).audioTokens == 1500)
    }
}
