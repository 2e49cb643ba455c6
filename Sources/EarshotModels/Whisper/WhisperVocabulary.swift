import EarshotTokenizer
import Foundation

/// A Whisper vocabulary: token strings by id (GPT-2 byte-level spelling) and the special ids the
/// decoding loop needs. Whisper never has to encode text to transcribe, so this is decode-only.
///
/// Read from `vocabulary.json` / `vocabulary.txt` (CTranslate2: the index is the id; the
/// multilingual file's id 50256 is an empty line, which must be kept) or `tokenizer.json`
/// (Hugging Face: `model.vocab` plus `added_tokens`). Ids past the listed tokens up to the model's
/// vocabulary size are timestamps (`<|0.00|>` ...), which older tokenizer files do not list.
public struct WhisperVocabulary: Sendable {
    public let tokens: [String]
    public let endOfText: Int
    public let startOfTranscript: Int
    public let transcribe: Int?
    public let translate: Int?
    public let noTimestamps: Int
    public let noSpeech: Int?
    /// First timestamp id (`<|0.00|>`); every id from here up is a timestamp.
    public var timestampBegin: Int { noTimestamps + 1 }
    /// Language code -> token id, for the languages this vocabulary has.
    public let languages: [String: Int]
    private let index: [String: Int]

    public init(tokens: [String], origin: String) throws(ModelError) {
        self.tokens = tokens
        var index: [String: Int] = [:]
        index.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where index[t] == nil { index[t] = i }
        self.index = index
        func required(_ t: String) throws(ModelError) -> Int {
            guard let id = index[t] else { throw .tokenizer("\(origin): vocabulary has no \(t) token") }
            return id
        }
        endOfText = try required("<|endoftext|>")
        startOfTranscript = try required("<|startoftranscript|>")
        noTimestamps = try required("<|notimestamps|>")
        transcribe = index["<|transcribe|>"]
        translate = index["<|translate|>"]
        noSpeech = index["<|nospeech|>"] ?? index["<|nocaptions|>"]
        var languages: [String: Int] = [:]
        for (code, _) in WhisperLanguages.all {
            if let id = index["<|\(code)|>"] { languages[code] = id }
        }
        self.languages = languages
    }

    public func id(of token: String) -> Int? { index[token] }

    /// UTF-8 bytes of the text tokens among `ids` (specials and timestamps are skipped).
    public func bytes(_ ids: some Sequence<Int>, into out: inout [UInt8]) {
        for id in ids where id >= 0 && id < endOfText && id < tokens.count {
            ByteLevel.decode(tokens[id], into: &out)
        }
    }

    /// The text of `ids` (specials and timestamps skipped; invalid UTF-8 repaired).
    public func decode(_ ids: some Sequence<Int>) -> String {
        var out: [UInt8] = []
        bytes(ids, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads the vocabulary a model directory carries, in CTranslate2's order of preference.
    public static func load(directory: String) throws(ModelError) -> WhisperVocabulary {
        let dir = URL(fileURLWithPath: directory)
        let fm = FileManager.default
        for name in ["vocabulary.json", "vocabulary.txt", "tokenizer.json"] {
            let path = dir.appendingPathComponent(name).path
            guard fm.fileExists(atPath: path) else { continue }
            guard let data = fm.contents(atPath: path) else { throw .tokenizer("\(path): cannot be read") }
            let tokens: [String]
            switch name {
            case "vocabulary.json": tokens = try jsonArray(data, path: path)
            case "vocabulary.txt": tokens = lines(data)
            default: tokens = try tokenizerJSON(data, path: path)
            }
            return try WhisperVocabulary(tokens: tokens, origin: path)
        }
        throw .tokenizer("\(directory): no vocabulary.json, vocabulary.txt or tokenizer.json")
    }

    /// One token per LF-terminated line; empty lines are tokens too.
    static func lines(_ data: Data) -> [String] {
        var parts = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if parts.last?.isEmpty == true { parts.removeLast() }
        return parts.map { String(decoding: $0, as: UTF8.self) }
    }

    static func jsonArray(_ data: Data, path: String) throws(ModelError) -> [String] {
        guard let array = try? JSONSerialization.jsonObject(with: data) as? [String] else {
            throw .tokenizer("\(path): expected a JSON array of strings")
        }
        return array
    }

    /// `model.vocab` (token -> id) and `added_tokens` ([{id, content}]) of a Hugging Face tokenizer.json.
    static func tokenizerJSON(_ data: Data, path: String) throws(ModelError) -> [String] {
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let model = obj["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Int] else {
            throw .tokenizer("\(path): no model.vocab object")
        }
        var pairs = vocab.map { ($0.value, $0.key) }
        for case let added as [String: Any] in obj["added_tokens"] as? [Any] ?? [] {
            if let id = added["id"] as? Int, let content = added["content"] as? String { pairs.append((id, content)) }
        }
        guard let maxID = pairs.map(\.0).max(), maxID < 1 << 20, pairs.allSatisfy({ $0.0 >= 0 }) else {
            throw .tokenizer("\(path): token ids out of range")
        }
        var tokens = [String](repeating: "", count: maxID + 1)
        for (id, text) in pairs { tokens[id] = text }
        return tokens
    }
}
