import EarshotTensor
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

    /// Entries (newlines, commas, colons) a vocabulary file may hold.
    static let separatorLimit = 1 << 21

    /// Reads the vocabulary a model directory carries, in CTranslate2's order of preference.
    public static func load(directory: String) throws(ModelError) -> WhisperVocabulary {
        let dir = URL(fileURLWithPath: directory)
        let fm = FileManager.default
        for name in ["vocabulary.json", "vocabulary.txt", "tokenizer.json"] {
            let path = dir.appendingPathComponent(name).path
            guard fm.fileExists(atPath: path) else { continue }
            let data: Data
            do throws(ModelError) {
                guard let bytes = try ModelFiles.read(path, limit: SmallFile.vocabularyLimit) else { continue }
                data = Data(bytes)
            } catch {
                if case .fileTooLarge = error { throw .tokenizer(error.description) }
                throw .tokenizer("\(path): cannot be read")
            }
            // Tokens (lines, array elements, object members) are bounded before anything is built:
            // a 64 MB vocabulary.txt of empty lines would otherwise become 64 million strings (1 GB).
            // Whisper has 51,865 tokens; its tokenizer.json about 100,000 members and merges.
            var separators = 0
            for b in data where b == 0x0A || b == UInt8(ascii: ",") || b == UInt8(ascii: ":") { separators += 1 }
            guard separators <= Self.separatorLimit else {
                throw .tokenizer("\(path): more than \(Self.separatorLimit) entries (\(separators)); file is corrupt or hostile")
            }
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
        // JSONDecoder rather than JSONSerialization (an object per string): see JSONField.
        guard let array = try? JSONDecoder().decode([String].self, from: data) else {
            throw .tokenizer("\(path): expected a JSON array of strings")
        }
        return array
    }

    /// `model.vocab` (token -> id) and `added_tokens` ([{id, content}]) of a Hugging Face tokenizer.json.
    static func tokenizerJSON(_ data: Data, path: String) throws(ModelError) -> [String] {
        guard let file = try? JSONDecoder().decode(HFTokenizerFile.self, from: data) else {
            throw .tokenizer("\(path): no model.vocab object")
        }
        var pairs = file.model.vocab.map { ($0.value, $0.key) }
        for added in file.addedTokens ?? [] {
            if let id = added.id, let content = added.content { pairs.append((id, content)) }
        }
        // The table is indexed by id: ids must be about as many as the tokens (a tiny file claiming
        // id 10^6 would otherwise size it by the claim).
        guard let maxID = pairs.map(\.0).max(), maxID < 1 << 20, maxID < 2 * pairs.count + 1024,
              pairs.allSatisfy({ $0.0 >= 0 }) else {
            throw .tokenizer("\(path): token ids out of range")
        }
        var tokens = [String](repeating: "", count: maxID + 1)
        for (id, text) in pairs { tokens[id] = text }
        return tokens
    }
}

/// The parts of a Hugging Face tokenizer.json Whisper's vocabulary needs; other keys are skipped.
private struct HFTokenizerFile: Decodable {
    struct Model: Decodable { let vocab: [String: Int] }
    /// Entries without an integer id or a content string are ignored, as before.
    struct Added: Decodable {
        let id: Int?
        let content: String?
        init(from decoder: any Decoder) throws {
            let c = try? decoder.container(keyedBy: CodingKeys.self)
            id = try? c?.decode(Int.self, forKey: .id)
            content = try? c?.decode(String.self, forKey: .content)
        }
        enum CodingKeys: String, CodingKey { case id, content }
    }
    let model: Model
    let addedTokens: [Added]?
    enum CodingKeys: String, CodingKey { case model, addedTokens = "added_tokens" }
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(Model.self, forKey: .model)
        addedTokens = try? c.decode([Added].self, forKey: .addedTokens)
    }
}
