import Foundation

/// The Qwen2 byte-level BPE tokenizer (as `Qwen2TokenizerFast` in HF transformers).
///
/// Encoding: NFC-normalise (see `NFCQuickCheck`), cut out added tokens (leftmost-longest),
/// split the remaining text with the Qwen pre-tokenizer pattern, turn each piece into UTF-8
/// bytes, start from one token per byte and apply BPE merges by rank.
///
/// The value is immutable and `Sendable`; share one instance across tasks. The word cache used
/// while encoding lives inside each `encode` call, so there is no shared mutable state and no
/// lock: long texts still benefit (words repeat), and short calls pay nothing for it.
public struct Qwen2Tokenizer: Sendable {
    let tokenToID: [TokenKey: Int]
    /// Vocabulary spelling (or added-token content) per id; nil for unused ids.
    let idToToken: [String?]
    /// Bytes of id `i` are `tokenBytes[tokenOffsets[i]..<tokenOffsets[i + 1]]`.
    let tokenBytes: [UInt8]
    let tokenOffsets: [Int]
    /// Token id of each single byte, -1 when missing.
    let byteIDs: [Int32]
    let merger: BPEMerger
    let matcher: AddedTokenMatcher
    let isSpecial: [Bool]
    /// Qwen2's pre-tokenizer (after NFC) or GPT-2's (Whisper; no normalisation).
    public let pattern: PreTokenizerPattern

    /// The added tokens (`<|im_end|>`, `<asr_text>`...), in file order.
    public let addedTokens: [AddedToken]
    /// Ids of special added tokens: those `decode(_:skipSpecial: true)` drops.
    public let specialIDs: Set<Int>

    init(
        tokenToID: [TokenKey: Int], idToToken: [String?], tokenBytes: [UInt8], tokenOffsets: [Int],
        byteIDs: [Int32], merger: BPEMerger, addedTokens: [AddedToken], isSpecial: [Bool], pattern: PreTokenizerPattern = .qwen2
    ) {
        self.pattern = pattern
        self.tokenToID = tokenToID
        self.idToToken = idToToken
        self.tokenBytes = tokenBytes
        self.tokenOffsets = tokenOffsets
        self.byteIDs = byteIDs
        self.merger = merger
        self.addedTokens = addedTokens
        self.matcher = AddedTokenMatcher(tokens: addedTokens)
        self.isSpecial = isSpecial
        self.specialIDs = Set(addedTokens.filter(\.special).map(\.id))
    }

    /// Highest id + 1 (vocabulary and added tokens).
    public var vocabularySize: Int { idToToken.count }

    /// The id of a vocabulary token (byte-level spelling, e.g. `"Ġhello"`) or added token.
    public func id(for token: String) -> Int? { tokenToID[TokenKey(token)] }

    /// The byte-level spelling of a vocabulary token, or an added token's content.
    public func token(for id: Int) -> String? {
        id >= 0 && id < idToToken.count ? idToToken[id] : nil
    }

    /// Token ids for `text`.
    ///
    /// - Parameter matchAddedTokens: when false, added tokens such as `<|im_end|>` in the
    ///   text are not recognised and are tokenised as ordinary text (useful for untrusted input).
    public func encode(_ text: String, matchAddedTokens: Bool = true) -> [Int] {
        let scalars = pattern == .qwen2 ? NFCQuickCheck.nfcScalars(text) : Array(text.unicodeScalars)
        let classes = scalars.map(ScalarClass.of)
        var state = EncodeState()
        state.output.reserveCapacity(scalars.count / 3)
        if matchAddedTokens && !matcher.isEmpty {
            matcher.split(scalars) { segment in
                switch segment {
                case .token(let id): state.output.append(id)
                case .text(let range): encodePlain(scalars, classes, range, &state)
                }
            }
        } else {
            encodePlain(scalars, classes, 0..<scalars.count, &state)
        }
        return state.output
    }

    /// Per-call scratch space and word cache.
    struct EncodeState {
        var output: [Int] = []
        var bytes: [UInt8] = []
        var symbols: [Int32] = []
        var cache: [ByteKey: [Int32]] = [:]
        /// Bound on cached words, so one huge call cannot grow memory without limit.
        static let cacheLimit = 50_000
    }

    private func encodePlain(
        _ scalars: [Unicode.Scalar], _ classes: [ScalarClass], _ range: Range<Int>, _ state: inout EncodeState
    ) {
        PreTokenizer.split(scalars: scalars, classes: classes, range: range, pattern: pattern) { piece in
            state.bytes.removeAll(keepingCapacity: true)
            for index in piece {
                UTF8.encode(scalars[index]) { state.bytes.append($0) }
            }
            if state.bytes.count == 1 {
                let id = byteIDs[Int(state.bytes[0])]
                if id >= 0 { state.output.append(Int(id)) }
                return
            }
            if let cached = state.cache[ByteKey(bytes: state.bytes)] {
                for id in cached { state.output.append(Int(id)) }
                return
            }
            state.symbols.removeAll(keepingCapacity: true)
            for byte in state.bytes { state.symbols.append(byteIDs[Int(byte)]) }
            merger.merge(&state.symbols)
            state.symbols.removeAll { $0 < 0 }
            for id in state.symbols { state.output.append(Int(id)) }
            if state.cache.count >= EncodeState.cacheLimit { state.cache.removeAll(keepingCapacity: true) }
            state.cache[ByteKey(bytes: state.bytes)] = state.symbols
        }
    }

    /// The text for `ids`. Unknown ids are skipped; byte sequences that are not valid UTF-8
    /// become U+FFFD (like Python's `errors="replace"`).
    ///
    /// - Parameter skipSpecial: drop special added tokens (`<|im_end|>`...); non-special added
    ///   tokens such as `<asr_text>` are kept.
    public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids { appendBytes(of: id, skipSpecial: skipSpecial, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the bytes token `id` stands for (nothing for unknown or skipped ids).
    func appendBytes(of id: Int, skipSpecial: Bool, to bytes: inout [UInt8]) {
        guard id >= 0, id < idToToken.count else { return }
        if skipSpecial && isSpecial[id] { return }
        bytes.append(contentsOf: tokenBytes[tokenOffsets[id]..<tokenOffsets[id + 1]])
    }
}
