import Foundation

/// The raw content of tokenizer files, before tables are built: entries keep the file and
/// line they came from so later consistency checks can report positions.
struct TokenizerSource {
    struct VocabEntry { var token: String; var id: Int; var line: Int }
    struct Merge { var left: String; var right: String; var line: Int }

    /// Ids at or above this are rejected. Tables are indexed by id, so a single absurd id
    /// (say 2^31) would otherwise make loading allocate gigabytes and die; 2^24 is far above
    /// any real vocabulary (Qwen has ~152k, the largest in use ~262k).
    static let idLimit = 1 << 24

    /// Vocabulary entries and merge rules accepted, counted on the raw bytes *before* parsing
    /// (each parsed entry costs ~100 bytes of heap: a 63 MB vocab.json of 4 million tokens peaked
    /// at 465 MB and loaded). 2^20 is four times the largest vocabulary in use (~262k).
    static let entryLimit = 1 << 20

    /// Refuses `bytes` when it holds more than `limit` of `separator` (':' bounds the members of a
    /// JSON object, '\n' the lines of merges.txt), before anything is built from it.
    static func checkCount(_ bytes: [UInt8], of separator: UInt8, limit: Int, path: String, what: String) throws(TokenizerError) {
        var count = 0
        for b in bytes where b == separator { count += 1 }
        guard count <= limit else {
            throw .unexpectedJSON(path: path, line: 1, reason: "more than \(limit) \(what) (\(count) found); file is corrupt or hostile")
        }
    }

    var vocab: [VocabEntry] = []
    var vocabPath = ""
    var merges: [Merge] = []
    var mergesPath = ""
    var added: [(token: AddedToken, line: Int)] = []
    var addedPath = ""
    /// Qwen2's pattern (vocab.json + merges.txt, or a tokenizer.json splitting by regex before a
    /// ByteLevel step) or GPT-2's (a tokenizer.json whose pre-tokenizer is ByteLevel itself).
    var pattern: PreTokenizerPattern = .qwen2
}

extension TokenizerSource {
    /// Reads the `vocab.json` + `merges.txt` (+ optional `tokenizer_config.json`) layout.
    static func load(vocab vocabURL: URL, merges mergesURL: URL, config configURL: URL?)
        throws(TokenizerError) -> TokenizerSource {
        let config: (bytes: [UInt8], path: String)?
        if let configURL { config = (try readTokenizerFile(configURL), configURL.path) } else { config = nil }
        return try load(vocab: (try readTokenizerFile(vocabURL), vocabURL.path),
                        merges: (try readTokenizerFile(mergesURL), mergesURL.path), config: config)
    }

    /// The same layout from bytes already in memory (e.g. embedded in a GGUF file); `path`s name them in errors.
    static func load(vocab: (bytes: [UInt8], path: String), merges: (bytes: [UInt8], path: String),
                     config: (bytes: [UInt8], path: String)?) throws(TokenizerError) -> TokenizerSource {
        var source = TokenizerSource()
        source.vocabPath = vocab.path
        try checkCount(vocab.bytes, of: UInt8(ascii: ":"), limit: entryLimit, path: vocab.path, what: "vocabulary entries")
        try checkCount(merges.bytes, of: 0x0A, limit: entryLimit, path: merges.path, what: "merge rules")
        let vocabRoot = try JSONReader.parse(vocab.bytes, path: vocab.path)
        source.vocab = try parseVocab(vocabRoot, path: vocab.path)

        source.mergesPath = merges.path
        source.merges = try parseMergesText(merges.bytes, path: merges.path)

        if let config {
            source.addedPath = config.path
            let root = try JSONReader.parse(config.bytes, path: config.path)
            if let decoder = root["added_tokens_decoder"] {
                source.added = try parseAddedTokensDecoder(decoder, path: config.path)
            }
        }
        return source
    }

    /// Reads a HF `tokenizer.json` (model.vocab, model.merges, added_tokens).
    static func load(tokenizerJSON url: URL) throws(TokenizerError) -> TokenizerSource {
        try load(tokenizerJSON: readTokenizerFile(url), path: url.path)
    }

    /// A HF `tokenizer.json` from bytes.
    static func load(tokenizerJSON bytes: [UInt8], path: String) throws(TokenizerError) -> TokenizerSource {
        // Members of every object (vocabulary, added tokens, settings), and merge rules (one ',' each).
        try checkCount(bytes, of: UInt8(ascii: ":"), limit: entryLimit + (1 << 16), path: path, what: "JSON members")
        try checkCount(bytes, of: UInt8(ascii: ","), limit: 3 * entryLimit, path: path, what: "JSON values")
        let root = try JSONReader.parse(bytes, path: path)
        guard let model = root["model"] else {
            throw .unexpectedJSON(path: path, line: root.line, reason: "no \"model\" object")
        }
        if let type = model["type"], type.stringValue != "BPE" {
            throw .unexpectedJSON(path: path, line: type.line, reason: "model type is not \"BPE\"")
        }
        guard let vocab = model["vocab"] else {
            throw .unexpectedJSON(path: path, line: model.line, reason: "no \"model.vocab\" object")
        }
        guard let merges = model["merges"], case .array(let mergeNodes) = merges.value else {
            throw .unexpectedJSON(path: path, line: model.line, reason: "no \"model.merges\" array")
        }
        var source = TokenizerSource()
        source.vocabPath = path
        source.mergesPath = path
        source.addedPath = path
        // GPT-2 / Whisper: no normaliser, the ByteLevel pre-tokenizer splits with GPT-2's regex.
        if let pre = root["pre_tokenizer"], pre["type"]?.stringValue == "ByteLevel", pre["use_regex"]?.boolValue != false {
            source.pattern = .gpt2
        }
        source.vocab = try parseVocab(vocab, path: path)
        source.merges.reserveCapacity(mergeNodes.count)
        for node in mergeNodes {
            switch node.value {
            case .string(let text):
                guard let merge = splitMerge(text, line: node.line) else {
                    throw .malformedMerge(path: path, line: node.line, text: text)
                }
                source.merges.append(merge)
            case .array(let parts) where parts.count == 2:
                guard let left = parts[0].stringValue, let right = parts[1].stringValue,
                      !left.isEmpty, !right.isEmpty else {
                    throw .malformedMerge(path: path, line: node.line, text: "\(parts.map(\.value))")
                }
                source.merges.append(Merge(left: left, right: right, line: node.line))
            default:
                throw .malformedMerge(path: path, line: node.line, text: "\(node.value)")
            }
        }
        if let added = root["added_tokens"] {
            guard case .array(let entries) = added.value else {
                throw .unexpectedJSON(path: path, line: added.line, reason: "\"added_tokens\" is not an array")
            }
            for entry in entries {
                guard let idNode = entry["id"], let id = idNode.intValue else {
                    throw .unexpectedJSON(path: path, line: entry.line, reason: "added token without an integer \"id\"")
                }
                guard id >= 0, id < idLimit else {
                    throw .invalidID(path: path, line: entry.line, id: String(id))
                }
                guard let content = entry["content"]?.stringValue else {
                    throw .unexpectedJSON(path: path, line: entry.line, reason: "added token without \"content\"")
                }
                let special = entry["special"]?.boolValue ?? false
                source.added.append((AddedToken(id: id, content: content, special: special), entry.line))
            }
        }
        return source
    }

    /// `{"token": id, ...}` in file order.
    private static func parseVocab(_ node: JSONNode, path: String) throws(TokenizerError) -> [VocabEntry] {
        guard case .object(let members) = node.value else {
            throw .unexpectedJSON(path: path, line: node.line, reason: "the vocabulary is not a JSON object")
        }
        var entries: [VocabEntry] = []
        entries.reserveCapacity(members.count)
        for member in members {
            guard case .number(let number, let integer) = member.node.value else {
                throw .unexpectedJSON(path: path, line: member.node.line,
                                      reason: "the id of \(member.key.debugDescription) is not a number")
            }
            guard let id = integer, id >= 0, id < idLimit else {
                throw .invalidID(path: path, line: member.node.line, id: "\(number)")
            }
            entries.append(VocabEntry(token: member.key, id: id, line: member.node.line))
        }
        return entries
    }

    /// `merges.txt`: one `left right` rule per line; a first line `#version...` and blank
    /// lines are skipped, as the reference loader does. CR before LF is tolerated.
    private static func parseMergesText(_ bytes: [UInt8], path: String) throws(TokenizerError) -> [Merge] {
        var merges: [Merge] = []
        merges.reserveCapacity(bytes.count / 11)
        var lineStart = 0
        var line = 0
        while lineStart < bytes.count {
            line += 1
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            let next = lineEnd + 1
            if lineEnd > lineStart, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            defer { lineStart = next }
            guard let text = String(validating: bytes[lineStart..<lineEnd], as: UTF8.self) else {
                throw .invalidUTF8(path: path, line: line)
            }
            if text.isEmpty || (line == 1 && text.hasPrefix("#version")) { continue }
            guard let merge = splitMerge(text, line: line) else {
                throw .malformedMerge(path: path, line: line, text: text)
            }
            merges.append(merge)
        }
        return merges
    }

    /// Splits `"left right"`; nil unless there is exactly one space with text on both sides.
    private static func splitMerge(_ text: String, line: Int) -> Merge? {
        let utf8 = text.utf8
        guard let space = utf8.firstIndex(of: 0x20) else { return nil }
        let left = String(text[..<space])
        let right = String(text[utf8.index(after: space)...])
        guard !left.isEmpty, !right.isEmpty, !right.utf8.contains(0x20) else { return nil }
        return Merge(left: left, right: right, line: line)
    }

    /// `tokenizer_config.json`'s `{"151643": {"content": ..., "special": true}, ...}`.
    private static func parseAddedTokensDecoder(_ node: JSONNode, path: String)
        throws(TokenizerError) -> [(token: AddedToken, line: Int)] {
        guard case .object(let members) = node.value else {
            throw .unexpectedJSON(path: path, line: node.line, reason: "\"added_tokens_decoder\" is not an object")
        }
        var tokens: [(token: AddedToken, line: Int)] = []
        for member in members {
            guard let id = Int(member.key), id >= 0, id < idLimit else {
                throw .invalidID(path: path, line: member.node.line, id: member.key)
            }
            guard let content = member.node["content"]?.stringValue else {
                throw .unexpectedJSON(path: path, line: member.node.line,
                                      reason: "added token \(id) has no \"content\" string")
            }
            let special = member.node["special"]?.boolValue ?? false
            tokens.append((AddedToken(id: id, content: content, special: special), member.node.line))
        }
        return tokens
    }
}
