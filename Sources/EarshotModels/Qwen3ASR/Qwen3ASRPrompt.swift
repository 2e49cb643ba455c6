import Foundation

import EarshotTokenizer

/// The Qwen3-ASR chat prompt (the checkpoint's `chat_template.json`, as the official
/// `qwen_asr/inference/qwen3_asr.py` `_build_text_prompt` fills it) and the language names it accepts.
///
/// ```
/// <|im_start|>system\n{context}<|im_end|>\n<|im_start|>user\n<|audio_start|><|audio_pad|>*N<|audio_end|><|im_end|>\n<|im_start|>assistant\n[language {Lang}<asr_text>]
/// ```
/// The system turn is always present (empty without context), there is no BOS, and the whole text
/// is tokenised at once so whitespace merges at `system\n{context}` match the reference.
public enum Qwen3ASRPrompt {
    /// The 30 canonical language names of the official package.
    public static let languages = [
        "Chinese", "English", "Cantonese", "Arabic", "German", "French", "Spanish", "Portuguese", "Indonesian",
        "Italian", "Korean", "Russian", "Thai", "Vietnamese", "Japanese", "Turkish", "Hindi", "Malay", "Dutch",
        "Swedish", "Danish", "Finnish", "Polish", "Czech", "Filipino", "Persian", "Greek", "Romanian", "Hungarian",
        "Macedonian",
    ]

    /// "english" / "ENGLISH" -> "English"; nil when it is not a supported language.
    public static func normalizeLanguage(_ name: String, supported: [String] = languages) -> String? {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard let first = trimmed.first else { return nil }
        let canonical = first.uppercased() + trimmed.dropFirst().lowercased()
        return supported.contains(canonical) ? canonical : nil
    }

    /// The prompt's token ids with `audioTokens` placeholders.
    public static func tokens(tokenizer: Qwen2Tokenizer, context: String, language: String?, audioTokens: Int,
                              audioTokenID: Int) throws(ModelError) -> [Int] {
        var text = "<|im_start|>system\n\(context)<|im_end|>\n<|im_start|>user\n<|audio_start|><|audio_pad|><|audio_end|><|im_end|>\n<|im_start|>assistant\n"
        if let language { text += "language \(language)<asr_text>" }
        let ids = tokenizer.encode(text)
        guard let pad = ids.firstIndex(of: audioTokenID), ids.filter({ $0 == audioTokenID }).count == 1 else {
            throw .tokenizer("the vocabulary does not map <|audio_pad|> to id \(audioTokenID)")
        }
        return Array(ids[..<pad]) + Array(repeating: audioTokenID, count: audioTokens) + Array(ids[(pad + 1)...])
    }
}
