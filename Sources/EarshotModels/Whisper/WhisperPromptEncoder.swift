import EarshotTokenizer
import Foundation
import Synchronization

/// Whisper's text encoder, for initial prompts: GPT-2 byte-level BPE from the model directory's
/// `tokenizer.json` (its merges; `vocabulary.txt` has none). Read on first use, once per model,
/// so loading a model for transcription alone does not pay for it.
final class WhisperPromptEncoder: Sendable {
    let directory: String
    private let tokenizer = Mutex<Result<Qwen2Tokenizer, ModelError>?>(nil)

    /// Prompt tokens Whisper's prompt carries at most (faster-whisper: max_length // 2 - 1).
    static let maxTokens = 223
    /// Prompt text encoded at most: far more than `maxTokens` tokens of any script.
    static let maxBytes = 16 << 10

    init(directory: String) { self.directory = directory }

    /// faster-whisper's initial prompt: the tokens of " " + the trimmed text.
    func encode(_ text: String, vocabSize: Int) throws(ModelError) -> [Int] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count <= Self.maxBytes else {
            throw .unsupportedOption("the initial prompt is \(trimmed.utf8.count) bytes; Whisper's prompt holds at most "
                                     + "\(Self.maxTokens) tokens (about \(Self.maxTokens * 4) characters of English)")
        }
        let ids = try load().encode(" " + trimmed)
        guard ids.count <= Self.maxTokens else { throw .promptTooLong(tokens: ids.count, limit: Self.maxTokens) }
        guard ids.allSatisfy({ $0 >= 0 && $0 < vocabSize }) else {
            throw .tokenizer("\(directory)/tokenizer.json: ids outside the model's \(vocabSize)-token vocabulary")
        }
        return ids
    }

    private func load() throws(ModelError) -> Qwen2Tokenizer {
        let result = tokenizer.withLock { cached -> Result<Qwen2Tokenizer, ModelError> in
            if let cached { return cached }
            let url = URL(fileURLWithPath: directory).appendingPathComponent("tokenizer.json")
            let made: Result<Qwen2Tokenizer, ModelError>
            if !FileManager.default.fileExists(atPath: url.path) {
                made = .failure(.unsupportedOption("an initial prompt needs the model's tokenizer.json (Whisper's BPE merges); "
                                                   + "\(directory) has none"))
            } else {
                do { made = .success(try Qwen2Tokenizer(tokenizerJSON: url)) } catch {
                    made = .failure(.tokenizer("\(url.path): \(error)"))
                }
            }
            cached = made
            return made
        }
        return try result.get()
    }
}
