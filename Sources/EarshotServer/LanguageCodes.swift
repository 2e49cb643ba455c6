import Foundation
import EarshotModels

/// OpenAI clients name languages by ISO 639-1 code ("en"); models take English names ("English").
/// Codes and names of Qwen3-ASR's and Whisper's languages are accepted here; whether the requested
/// model supports the language is the model's call (a 400 naming its languages if not).
enum LanguageCodes {
    static let names: [String: String] = [
        "zh": "Chinese", "en": "English", "yue": "Cantonese", "ar": "Arabic", "de": "German", "fr": "French",
        "es": "Spanish", "pt": "Portuguese", "id": "Indonesian", "it": "Italian", "ko": "Korean", "ru": "Russian",
        "th": "Thai", "vi": "Vietnamese", "ja": "Japanese", "tr": "Turkish", "hi": "Hindi", "ms": "Malay",
        "nl": "Dutch", "sv": "Swedish", "da": "Danish", "fi": "Finnish", "pl": "Polish", "cs": "Czech",
        "fil": "Filipino", "tl": "Filipino", "fa": "Persian", "el": "Greek", "ro": "Romanian", "hu": "Hungarian",
        "mk": "Macedonian",
    ]

    /// The model's name for `requested` (a code or a name in any case), or a 400.
    static func resolve(_ requested: String) throws(APIError) -> String {
        let trimmed = requested.trimmingCharacters(in: .whitespaces)
        if let name = names[trimmed.lowercased()] { return name }
        if let name = Qwen3ASRPrompt.normalizeLanguage(trimmed) { return name }
        if let code = WhisperLanguages.code(for: trimmed) { return WhisperLanguages.name(of: code) }
        throw .badRequest("unsupported language '\(requested)'; use an ISO 639-1 code or one of: "
                          + (Qwen3ASRPrompt.languages + WhisperLanguages.all.map(\.name)).joined(separator: ", "),
                          code: "unsupported_language")
    }
}
