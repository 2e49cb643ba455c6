import Foundation
import EarshotModels

/// OpenAI clients name languages by ISO 639-1 code ("en"); Qwen3-ASR's prompt wants the English
/// name ("English"). Both are accepted; anything else is a 400 naming the supported set.
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
        throw .badRequest("unsupported language '\(requested)'; use an ISO 639-1 code or one of: "
                          + Qwen3ASRPrompt.languages.joined(separator: ", "), code: "unsupported_language")
    }
}
