/// Whisper's language tokens (`<|en|>` ...) in vocabulary order, with their English names.
///
/// Multilingual vocabularies hold the first 99 (large-v3 adds `yue`). A checkpoint's own
/// vocabulary decides which exist; this table only names them and maps names to codes.
public enum WhisperLanguages {
    public static let all: [(code: String, name: String)] = [
        ("en", "English"), ("zh", "Chinese"), ("de", "German"), ("es", "Spanish"), ("ru", "Russian"),
        ("ko", "Korean"), ("fr", "French"), ("ja", "Japanese"), ("pt", "Portuguese"), ("tr", "Turkish"),
        ("pl", "Polish"), ("ca", "Catalan"), ("nl", "Dutch"), ("ar", "Arabic"), ("sv", "Swedish"),
        ("it", "Italian"), ("id", "Indonesian"), ("hi", "Hindi"), ("fi", "Finnish"), ("vi", "Vietnamese"),
        ("he", "Hebrew"), ("uk", "Ukrainian"), ("el", "Greek"), ("ms", "Malay"), ("cs", "Czech"),
        ("ro", "Romanian"), ("da", "Danish"), ("hu", "Hungarian"), ("ta", "Tamil"), ("no", "Norwegian"),
        ("th", "Thai"), ("ur", "Urdu"), ("hr", "Croatian"), ("bg", "Bulgarian"), ("lt", "Lithuanian"),
        ("la", "Latin"), ("mi", "Maori"), ("ml", "Malayalam"), ("cy", "Welsh"), ("sk", "Slovak"),
        ("te", "Telugu"), ("fa", "Persian"), ("lv", "Latvian"), ("bn", "Bengali"), ("sr", "Serbian"),
        ("az", "Azerbaijani"), ("sl", "Slovenian"), ("kn", "Kannada"), ("et", "Estonian"), ("mk", "Macedonian"),
        ("br", "Breton"), ("eu", "Basque"), ("is", "Icelandic"), ("hy", "Armenian"), ("ne", "Nepali"),
        ("mn", "Mongolian"), ("bs", "Bosnian"), ("kk", "Kazakh"), ("sq", "Albanian"), ("sw", "Swahili"),
        ("gl", "Galician"), ("mr", "Marathi"), ("pa", "Punjabi"), ("si", "Sinhala"), ("km", "Khmer"),
        ("sn", "Shona"), ("yo", "Yoruba"), ("so", "Somali"), ("af", "Afrikaans"), ("oc", "Occitan"),
        ("ka", "Georgian"), ("be", "Belarusian"), ("tg", "Tajik"), ("sd", "Sindhi"), ("gu", "Gujarati"),
        ("am", "Amharic"), ("yi", "Yiddish"), ("lo", "Lao"), ("uz", "Uzbek"), ("fo", "Faroese"),
        ("ht", "Haitian Creole"), ("ps", "Pashto"), ("tk", "Turkmen"), ("nn", "Nynorsk"), ("mt", "Maltese"),
        ("sa", "Sanskrit"), ("lb", "Luxembourgish"), ("my", "Myanmar"), ("bo", "Tibetan"), ("tl", "Tagalog"),
        ("mg", "Malagasy"), ("as", "Assamese"), ("tt", "Tatar"), ("haw", "Hawaiian"), ("ln", "Lingala"),
        ("ha", "Hausa"), ("ba", "Bashkir"), ("jw", "Javanese"), ("su", "Sundanese"), ("yue", "Cantonese"),
    ]

    /// Other names in use (Qwen3-ASR's, OpenAI's) for Whisper's languages.
    static let aliases: [String: String] = ["filipino": "tl", "burmese": "my", "valencian": "ca", "flemish": "nl",
                                            "haitian": "ht", "letzeburgesch": "lb", "pushto": "ps", "panjabi": "pa",
                                            "moldavian": "ro", "moldovan": "ro", "sinhalese": "si", "castilian": "es",
                                            "mandarin": "zh"]

    /// The English name of `code` (the code itself when unknown).
    public static func name(of code: String) -> String {
        all.first { $0.code == code }?.name ?? code
    }

    /// The code for a language given as a code or an English name, any case ("en", "English").
    public static func code(for language: String) -> String? {
        let wanted = language.lowercased()
        if let alias = aliases[wanted] { return alias }
        if let hit = all.first(where: { $0.code == wanted }) { return hit.code }
        return all.first { $0.name.lowercased() == wanted }?.code
    }
}
