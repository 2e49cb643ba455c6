import Foundation

extension Qwen2Tokenizer {
    /// Loads from a model directory: `vocab.json` + `merges.txt` (+ `tokenizer_config.json`
    /// for added tokens) when both exist, otherwise `tokenizer.json`.
    public init(directory: URL) throws(TokenizerError) {
        let fileManager = FileManager.default
        let vocab = directory.appendingPathComponent("vocab.json")
        let merges = directory.appendingPathComponent("merges.txt")
        let config = directory.appendingPathComponent("tokenizer_config.json")
        let tokenizerJSON = directory.appendingPathComponent("tokenizer.json")
        if fileManager.fileExists(atPath: vocab.path), fileManager.fileExists(atPath: merges.path) {
            try self.init(vocabURL: vocab, mergesURL: merges,
                          configURL: fileManager.fileExists(atPath: config.path) ? config : nil)
        } else if fileManager.fileExists(atPath: tokenizerJSON.path) {
            try self.init(tokenizerJSON: tokenizerJSON)
        } else {
            throw .noTokenizerFiles(directory: directory.path)
        }
    }

    /// Loads `vocab.json` and `merges.txt`, plus the added tokens listed under
    /// `added_tokens_decoder` in `tokenizer_config.json` when `configURL` is given.
    public init(vocabURL: URL, mergesURL: URL, configURL: URL?) throws(TokenizerError) {
        try self.init(source: TokenizerSource.load(vocab: vocabURL, merges: mergesURL, config: configURL))
    }

    /// Loads a Hugging Face `tokenizer.json` (`model.vocab`, `model.merges`, `added_tokens`).
    public init(tokenizerJSON: URL) throws(TokenizerError) {
        try self.init(source: TokenizerSource.load(tokenizerJSON: tokenizerJSON))
    }

    /// Loads `vocab.json` + `merges.txt` (+ `tokenizer_config.json`) contents already in memory;
    /// `origin` names them in errors (e.g. the GGUF file they came from).
    public init(vocab: [UInt8], merges: [UInt8], config: [UInt8]?, origin: String) throws(TokenizerError) {
        try self.init(source: TokenizerSource.load(vocab: (vocab, origin + ":vocab.json"), merges: (merges, origin + ":merges.txt"),
                                                   config: config.map { ($0, origin + ":tokenizer_config.json") }))
    }

    /// Loads `tokenizer.json` contents already in memory.
    public init(tokenizerJSON: [UInt8], origin: String) throws(TokenizerError) {
        try self.init(source: TokenizerSource.load(tokenizerJSON: tokenizerJSON, path: origin + ":tokenizer.json"))
    }

    /// Builds the lookup tables and checks that the files agree with each other.
    init(source: TokenizerSource) throws(TokenizerError) {
        var size = 0
        for entry in source.vocab { size = max(size, entry.id + 1) }
        for (token, _) in source.added { size = max(size, token.id + 1) }
        // Tables are indexed by id, so ids must be about as many as the tokens: one id of 2^24 - 1
        // in a 20-byte vocab.json would otherwise size them at half a gigabyte. Real vocabularies
        // are dense (Qwen: 151,665 tokens, ids 0...151,664).
        let idBound = 2 * (source.vocab.count + source.added.count) + 1024
        if size > idBound {
            let reason = " (\(source.vocab.count + source.added.count) tokens: ids must stay below \(idBound))"
            if let e = source.vocab.first(where: { $0.id >= idBound }) {
                throw .invalidID(path: source.vocabPath, line: e.line, id: "\(e.id)" + reason)
            }
            if let (token, line) = source.added.first(where: { $0.token.id >= idBound }) {
                throw .invalidID(path: source.addedPath, line: line, id: "\(token.id)" + reason)
            }
        }

        // Vocabulary: token <-> id, rejecting two tokens with one id.
        var tokenToID = [TokenKey: Int](minimumCapacity: source.vocab.count + source.added.count)
        var idToToken = [String?](repeating: nil, count: size)
        for entry in source.vocab {
            if let existing = idToToken[entry.id], !existing.utf8.elementsEqual(entry.token.utf8) {
                throw .duplicateID(path: source.vocabPath, line: entry.line, id: entry.id,
                                   first: existing, second: entry.token)
            }
            idToToken[entry.id] = entry.token
            tokenToID[TokenKey(entry.token)] = entry.id
        }

        // Merges are resolved against the BPE vocabulary only, before added tokens join it.
        var rules: [(left: Int32, right: Int32, merged: Int32)] = []
        rules.reserveCapacity(source.merges.count)
        for merge in source.merges {
            guard let left = tokenToID[TokenKey(merge.left)] else {
                throw .unknownMergeToken(path: source.mergesPath, line: merge.line, token: merge.left)
            }
            guard let right = tokenToID[TokenKey(merge.right)] else {
                throw .unknownMergeToken(path: source.mergesPath, line: merge.line, token: merge.right)
            }
            let joined = merge.left + merge.right
            guard let merged = tokenToID[TokenKey(joined)] else {
                throw .unknownMergeToken(path: source.mergesPath, line: merge.line, token: joined)
            }
            rules.append((Int32(left), Int32(right), Int32(merged)))
        }

        // Initial BPE symbols: the id of each byte's character (-1 if the vocabulary lacks it,
        // in which case that byte is dropped, as BPE without an unknown token does).
        let byteIDs = ByteLevel.scalarForByte.map { scalar in
            tokenToID[TokenKey(String(scalar))].map { Int32($0) } ?? -1
        }

        // Added tokens may reuse the id of an identical vocabulary entry, nothing else.
        var isAdded = [Bool](repeating: false, count: size)
        var isSpecial = [Bool](repeating: false, count: size)
        var addedTokens: [AddedToken] = []
        for (token, line) in source.added {
            if let existing = idToToken[token.id], !existing.utf8.elementsEqual(token.content.utf8) {
                throw .duplicateID(path: source.addedPath, line: line, id: token.id,
                                   first: existing, second: token.content)
            }
            idToToken[token.id] = token.content
            tokenToID[TokenKey(token.content)] = token.id
            if !isAdded[token.id] { addedTokens.append(token) }
            isAdded[token.id] = true
            isSpecial[token.id] = token.special
        }

        // Decoding table: every id's bytes in one flat buffer. Added tokens decode to their
        // literal content; vocabulary tokens go through the byte map.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size * 8)
        var offsets = [Int](repeating: 0, count: size + 1)
        for id in 0..<size {
            if let token = idToToken[id] {
                if isAdded[id] {
                    bytes.append(contentsOf: token.utf8)
                } else {
                    ByteLevel.decode(token, into: &bytes)
                }
            }
            offsets[id + 1] = bytes.count
        }

        self.init(
            tokenToID: tokenToID, idToToken: idToToken, tokenBytes: bytes, tokenOffsets: offsets,
            byteIDs: byteIDs, merger: BPEMerger(table: MergeTable(rules: rules)),
            addedTokens: addedTokens, isSpecial: isSpecial, pattern: source.pattern
        )
    }
}
