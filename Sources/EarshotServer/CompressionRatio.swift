/// Whisper's `compression_ratio`: UTF-8 bytes of a segment's text divided by the bytes of
/// `zlib.compress(text)`. Values above 2.4 flag repetitive (looping) output.
///
/// Neither the Swift standard library nor Foundation on Linux offers zlib, so this computes the size
/// of the zlib stream a DEFLATE encoder like zlib's default level would produce, without emitting
/// it: the same LZ77 parse (hash chains of 128 candidates, 32 KB window, lazy matching), then the
/// exact bit cost of the smallest of a fixed-Huffman, dynamic-Huffman or stored block, plus the
/// 2-byte header and 4-byte Adler-32 trailer. On English, Cyrillic and CJK text of 6 bytes to 20 KB
/// it lands within a few bytes of Python's `zlib.compress` (the tests pin a few of those sizes).
enum CompressionRatio {
    static func of(_ text: String) -> Double {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return 0 }
        return Double(bytes.count) / Double(DeflateSize.zlibBytes(bytes))
    }
}

enum DeflateSize {
    /// One LZ77 symbol: a literal byte (`length == 0`) or a back-reference.
    struct Token { var literal: UInt8 = 0; var length = 0; var distance = 0 }

    static func zlibBytes(_ data: [UInt8]) -> Int {
        let tokens = lz77(data)
        let storedBits = (data.count + 5 * max(1, (data.count + 65534) / 65535)) * 8
        let blockBits = min(fixedBits(tokens), dynamicBits(tokens), storedBits)
        return 2 + (blockBits + 7) / 8 + 4
    }

    static func lz77(_ data: [UInt8]) -> [Token] {
        let n = data.count, window = 32768, maxChain = 128
        var head = [Int](repeating: -1, count: 1 << 16), previous = [Int](repeating: -1, count: n)
        func hash(_ i: Int) -> Int { (Int(data[i]) << 10 ^ Int(data[i + 1]) << 5 ^ Int(data[i + 2])) & 0xFFFF }
        func insert(_ i: Int) {
            guard i + 2 < n else { return }
            previous[i] = head[hash(i)]
            head[hash(i)] = i
        }
        func longest(_ i: Int) -> (length: Int, distance: Int) {
            guard i + 2 < n else { return (0, 0) }
            var best = (length: 0, distance: 0), candidate = head[hash(i)], chain = maxChain
            while candidate >= 0, chain > 0, i - candidate <= window {
                var length = 0
                while i + length < n, length < 258, data[candidate + length] == data[i + length] { length += 1 }
                if length > best.length { best = (length, i - candidate) }
                if length == 258 { break }
                candidate = previous[candidate]
                chain -= 1
            }
            return best.length >= 3 ? best : (0, 0)
        }
        var tokens: [Token] = [], i = 0
        tokens.reserveCapacity(n)
        while i < n {
            let match = longest(i)
            insert(i)
            // Lazy matching: a longer match one byte later wins over this one.
            if match.length > 0, longest(i + 1).length <= match.length {
                for k in 1..<match.length { insert(i + k) }
                tokens.append(Token(length: match.length, distance: match.distance))
                i += match.length
            } else {
                tokens.append(Token(literal: data[i]))
                i += 1
            }
        }
        return tokens
    }

    // RFC 1951 3.2.5: length symbols 257...285 and distance symbols 0...29 with their extra bits.
    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
                                     115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]

    static func lengthSymbol(_ length: Int) -> (symbol: Int, extra: Int) {
        let code = lengthBase.lastIndex { $0 <= length } ?? 0
        return (257 + code, lengthExtra[code])
    }

    static func distanceSymbol(_ distance: Int) -> (symbol: Int, extra: Int) {
        guard distance > 4 else { return (max(distance, 1) - 1, 0) }
        let extra = (Int.bitWidth - (distance - 1).leadingZeroBitCount) - 2
        return (2 * extra + 2 + ((distance - 1) >> extra & 1), extra)
    }

    /// Fixed codes: literals 0-143 take 8 bits, 144-255 9; length symbols 257-279 7 bits, 280-287 8;
    /// distances 5; plus the 3-bit block header and the 7-bit end-of-block symbol.
    static func fixedBits(_ tokens: [Token]) -> Int {
        var bits = 3 + 7
        for token in tokens {
            if token.length == 0 { bits += token.literal < 144 ? 8 : 9; continue }
            let (symbol, extra) = lengthSymbol(token.length), distance = distanceSymbol(token.distance)
            bits += (symbol < 280 ? 7 : 8) + extra + 5 + distance.extra
        }
        return bits
    }

    static func dynamicBits(_ tokens: [Token]) -> Int {
        var literalFrequencies = [Int](repeating: 0, count: 286), distanceFrequencies = [Int](repeating: 0, count: 30)
        var bits = 3 + 5 + 5 + 4 // BFINAL/BTYPE, HLIT, HDIST, HCLEN
        for token in tokens {
            if token.length == 0 { literalFrequencies[Int(token.literal)] += 1; continue }
            let length = lengthSymbol(token.length), distance = distanceSymbol(token.distance)
            literalFrequencies[length.symbol] += 1
            distanceFrequencies[distance.symbol] += 1
            bits += length.extra + distance.extra
        }
        literalFrequencies[256] += 1 // end of block
        let literalLengths = codeLengths(literalFrequencies, limit: 15)
        var distanceLengths = codeLengths(distanceFrequencies, limit: 15)
        if distanceLengths.allSatisfy({ $0 == 0 }) { distanceLengths[0] = 1 } // zlib sends one unused code
        for s in 0..<286 { bits += literalFrequencies[s] * literalLengths[s] }
        for s in 0..<30 { bits += distanceFrequencies[s] * distanceLengths[s] }

        // The two code-length tables are sent run-length encoded (symbols 16, 17, 18), themselves
        // Huffman coded with 3-bit lengths sent in a fixed order.
        let hlit = max(257, (literalLengths.lastIndex { $0 > 0 } ?? 0) + 1)
        let hdist = (distanceLengths.lastIndex { $0 > 0 } ?? 0) + 1
        let sequence = Array(literalLengths[..<hlit]) + Array(distanceLengths[..<hdist])
        var runs: [(symbol: Int, extra: Int)] = [], i = 0
        while i < sequence.count {
            let value = sequence[i]
            var j = i
            while j < sequence.count, sequence[j] == value { j += 1 }
            var run = j - i
            if value == 0 {
                while run >= 11 { runs.append((18, 7)); run -= min(run, 138) }
                if run >= 3 { runs.append((17, 3)); run = 0 }
            } else {
                runs.append((value, 0)); run -= 1
                while run >= 3 { runs.append((16, 2)); run -= min(run, 6) }
            }
            runs += Array(repeating: (value, 0), count: run)
            i = j
        }
        var runFrequencies = [Int](repeating: 0, count: 19)
        for run in runs { runFrequencies[run.symbol] += 1 }
        let runLengths = codeLengths(runFrequencies, limit: 7)
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        let hclen = max(4, (order.lastIndex { runLengths[$0] > 0 } ?? 0) + 1)
        bits += 3 * hclen
        for run in runs { bits += runLengths[run.symbol] + run.extra }
        return bits
    }

    /// Huffman code lengths for these frequencies, no longer than `limit` (when the optimal tree
    /// is too deep, frequencies are halved and the tree rebuilt, a simple way to flatten it).
    static func codeLengths(_ frequencies: [Int], limit: Int) -> [Int] {
        var weights = frequencies
        while true {
            var lengths = [Int](repeating: 0, count: weights.count)
            let used = weights.indices.filter { weights[$0] > 0 }
            if used.count == 1 { lengths[used[0]] = 1 }
            guard used.count > 1 else { return lengths }
            // Repeatedly merge the two lightest subtrees; every symbol under a merge gets one bit deeper.
            var trees = used.map { (weight: weights[$0], symbols: [$0]) }
            while trees.count > 1 {
                trees.sort { $0.weight > $1.weight }
                let a = trees.removeLast(), b = trees.removeLast()
                for s in a.symbols + b.symbols { lengths[s] += 1 }
                trees.append((a.weight + b.weight, a.symbols + b.symbols))
            }
            if lengths.max() ?? 0 <= limit { return lengths }
            weights = weights.map { $0 > 0 ? ($0 + 1) / 2 : 0 }
        }
    }
}
