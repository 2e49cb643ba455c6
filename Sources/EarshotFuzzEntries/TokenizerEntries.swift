import EarshotTokenizer

enum TokenizerEntries {
    /// Text encoded (then decoded) by every tokenizer that loads: ASCII words the small merges
    /// cover, an added token, digits, and multi-byte UTF-8.
    static let sample = "hello world, the <|im_start|> 2024 çava 日本語 🎧\n"

    static func tokenizerJSON(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        use { () throws(TokenizerError) in try Qwen2Tokenizer(tokenizerJSON: [UInt8](bytes), origin: "fuzz") }
    }

    static func vocab(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        use { () throws(TokenizerError) in
            try Qwen2Tokenizer(vocab: [UInt8](bytes), merges: SmallTokenizerFiles.merges,
                               config: SmallTokenizerFiles.config, origin: "fuzz")
        }
    }

    static func merges(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        use { () throws(TokenizerError) in
            try Qwen2Tokenizer(vocab: SmallTokenizerFiles.vocab, merges: [UInt8](bytes), config: nil, origin: "fuzz")
        }
    }

    static func config(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        use { () throws(TokenizerError) in
            try Qwen2Tokenizer(vocab: SmallTokenizerFiles.vocab, merges: SmallTokenizerFiles.merges,
                               config: [UInt8](bytes), origin: "fuzz")
        }
    }

    /// Loads, then round-trips `sample` and decodes the first ids: the tables built from the
    /// files (merge ranks, byte ids, added tokens) are used, not only parsed.
    private static func use(_ load: () throws(TokenizerError) -> Qwen2Tokenizer) -> FuzzOutcome {
        do {
            let tokenizer = try load()
            let ids = tokenizer.encode(sample)
            let text = tokenizer.decode(ids)
            _ = tokenizer.decode(Array(0..<min(tokenizer.vocabularySize, 64)), skipSpecial: true)
            return .accepted("\(tokenizer.vocabularySize) ids; sample -> \(ids.count) tokens -> \(text.utf8.count) bytes")
        } catch {
            return .rejected(error.description)
        }
    }
}

/// A small consistent Qwen2-style tokenizer: the 256 byte characters (ids 0...255), the tokens
/// of a few merges (from 256), and added tokens in `tokenizer_config.json` (from 300). The fuzz
/// targets of one file pair the fuzzed file with these; the seed corpora hold the same files.
public enum SmallTokenizerFiles {
    static let mergeRules: [(String, String)] = [
        ("h", "e"), ("l", "l"), ("he", "ll"), ("hell", "o"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or"),
        ("Ġwor", "l"), ("Ġworl", "d"), ("Ġ", "t"), ("Ġt", "he"), ("Ġ", "2"), ("0", "2"),
    ]

    public static let vocab: [UInt8] = {
        var tokens = (0...255).map { String(ByteLevel.character(forByte: UInt8($0))) }
        for (left, right) in mergeRules where !tokens.contains(left + right) { tokens.append(left + right) }
        let members = tokens.enumerated().map { "\(jsonString($1)): \($0)" }
        return Array(("{" + members.joined(separator: ", ") + "}").utf8)
    }()

    public static let merges: [UInt8] = Array(("#version: 0.2\n" + mergeRules.map { "\($0) \($1)\n" }.joined()).utf8)

    public static let config: [UInt8] = Array("""
        {"add_prefix_space": false, "added_tokens_decoder": {
          "300": {"content": "<|endoftext|>", "special": true},
          "301": {"content": "<|im_start|>", "special": true},
          "302": {"content": "<|im_end|>", "special": false}},
         "eos_token": "<|im_end|>"}
        """.utf8)

    /// The three files as one Hugging Face tokenizer.json.
    public static let tokenizerJSON: [UInt8] = {
        let merges = mergeRules.map { "[\(jsonString($0)), \(jsonString($1))]" }.joined(separator: ", ")
        let added = [(300, "<|endoftext|>"), (301, "<|im_start|>"), (302, "<|im_end|>")]
            .map { "{\"id\": \($0), \"content\": \(jsonString($1)), \"special\": true}" }.joined(separator: ", ")
        let text = "{\"added_tokens\": [\(added)], \"model\": {\"type\": \"BPE\", \"vocab\": "
            + String(decoding: vocab, as: UTF8.self) + ", \"merges\": [\(merges)]}}"
        return Array(text.utf8)
    }()

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
