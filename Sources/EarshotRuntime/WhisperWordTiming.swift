import EarshotModels
import EarshotTensor
import Foundation

/// Word timestamps as faster-whisper's `word_timestamps=True` computes them (its
/// `find_alignment` / `add_word_timestamps`, on CTranslate2's `Whisper.align`): the alignment
/// heads' cross-attention over the window, normalised over the tokens, median-filtered (width 7)
/// along time and averaged over heads, then dynamic time warping between text tokens and 20 ms
/// encoder positions; tokens grouped into words (at spaces, or at whole characters for languages
/// written without them), punctuation merged into its word, and the long-word and segment-edge
/// repairs. Every buffer lives in the request's arena (`Layout`).
struct WhisperWordTiming {
    let model: WhisperModel

    /// faster-whisper's defaults.
    static let prependPunctuations = "\"'“¿([{-"
    static let appendPunctuations = "\"'.。,，!！?？:：”)]}、"
    static let sentenceEndMarks = ".。!！?？"
    /// Python's `string.punctuation`.
    static let asciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    static let medianFilterWidth = 7
    /// Languages split into words at whole characters rather than spaces.
    static let unspacedLanguages: Set<String> = ["zh", "ja", "th", "lo", "my", "yue"]

    /// Offsets (floats into the arena) of what one window's alignment needs, sized for the longest
    /// sequence the decoder takes.
    struct Layout {
        var weights = 0, probabilities = 0, logits = 0, matrix = 0, cost = 0, trace = 0, row = 0
        init(model: WhisperModel, into layout: inout ScratchLayout) {
            let d = model.dims, heads = max(1, model.generation.alignmentHeads.count)
            let n = d.textContext, f = d.audioContext
            weights = layout.add(heads * n * f)           // [heads, n, frames]
            probabilities = layout.add(n)
            logits = layout.add(model.alignmentScratchFloats())
            matrix = layout.add(n * f)                    // [n, frames] head mean
            cost = layout.add((n + 1) * (f + 1))          // DTW
            trace = layout.add((n + 1) * (f + 1))
            row = layout.add(f)
        }
    }

    /// A window's segment while its words are computed.
    struct Piece {
        var start: Double
        var end: Double
        var tokens: ArraySlice<Int>
        var words: [TranscriptWord] = []
    }

    struct Timed {
        var word: String
        var tokens: [Int]
        var start: Double
        var end: Double
        var probability: Double
    }

    /// Fills each piece's words (and moves its edges as faster-whisper does). `startSequence` is
    /// the prompt's start-of-transcript, language and task; `frames` the window's mel frames;
    /// `offset` its start in seconds; `lastSpeech` the end of the previous window's last word.
    func addWords(_ pieces: inout [Piece], startSequence: [Int], frames: Int, offset: Double, lastSpeech: Double,
                  language: String, state: WhisperState, base: UnsafeMutablePointer<Float>,
                  layout: Layout) throws(RuntimeError) {
        guard !pieces.isEmpty else { return }
        let eot = model.vocabulary.endOfText
        let perPiece = pieces.map { $0.tokens.filter { $0 < eot } }
        let text = perPiece.flatMap { $0 }
        var alignment = try align(text, startSequence: startSequence, frames: frames, language: language,
                                  state: state, base: base, layout: layout)
        // Long words at sentence edges are cut to twice the median word length.
        let durations = alignment.map { $0.end - $0.start }.filter { $0 != 0 }
        let median = min(0.7, Self.median(durations))
        let longest = median * 2
        if !durations.isEmpty, alignment.count > 1 {
            for i in 1..<alignment.count where alignment[i].end - alignment[i].start > longest {
                if Self.isIn(alignment[i].word, Self.sentenceEndMarks) {
                    alignment[i].end = alignment[i].start + longest
                } else if Self.isIn(alignment[i - 1].word, Self.sentenceEndMarks) {
                    alignment[i].start = alignment[i].end - longest
                }
            }
        }
        Self.mergePunctuations(&alignment)
        var wordIndex = 0
        var lastSpeech = lastSpeech
        for p in pieces.indices {
            var saved = 0
            var words: [TranscriptWord] = []
            while wordIndex < alignment.count, saved < perPiece[p].count {
                let timing = alignment[wordIndex]
                if !timing.word.isEmpty {
                    words.append(TranscriptWord(start: Self.round2(offset + timing.start), end: Self.round2(offset + timing.end),
                                                word: timing.word, probability: timing.probability))
                }
                saved += timing.tokens.count
                wordIndex += 1
            }
            if !words.isEmpty {
                // The first words after a pause are not longer than twice the median.
                if words[0].end - lastSpeech > median * 4,
                   words[0].end - words[0].start > longest || (words.count > 1 && words[1].end - words[0].start > longest * 2) {
                    if words.count > 1, words[1].end - words[1].start > longest {
                        let boundary = max(words[1].end / 2, words[1].end - longest)
                        words[0].end = boundary
                        words[1].start = boundary
                    }
                    words[0].start = max(0, words[0].end - longest)
                }
                // The segment's own edges win over a first or last word that runs long.
                if pieces[p].start < words[0].end, pieces[p].start - 0.5 > words[0].start {
                    words[0].start = max(0, min(words[0].end - median, pieces[p].start))
                } else {
                    pieces[p].start = words[0].start
                }
                let last = words.count - 1
                if pieces[p].end > words[last].start, pieces[p].end + 0.5 < words[last].end {
                    words[last].end = max(words[last].start + median, pieces[p].end)
                } else {
                    pieces[p].end = words[last].end
                }
                lastSpeech = pieces[p].end
            }
            pieces[p].words = words
        }
    }

    /// `find_alignment`: each word of `text` with its start, end (seconds into the window) and mean
    /// token probability.
    func align(_ text: [Int], startSequence: [Int], frames: Int, language: String, state: WhisperState,
               base: UnsafeMutablePointer<Float>, layout: Layout) throws(RuntimeError) -> [Timed] {
        let positions = frames / 2                               // the encoder's stride
        guard !text.isEmpty, positions > 0 else { return [] }
        let v = model.vocabulary
        let tokens = startSequence + [v.noTimestamps] + text + [v.endOfText]
        let n = tokens.count, heads = model.generation.alignmentHeads.count
        let weights = base + layout.weights, probabilities = base + layout.probabilities
        do {
            try model.alignmentWeights(tokens: tokens, frames: positions, state: state, weights: weights,
                                       probabilities: probabilities, scratch: base + layout.logits)
        } catch {
            throw .model(error)
        }
        // Per head and position: normalised over the tokens (mean 0, variance 1, no epsilon).
        for h in 0..<heads {
            let w = weights + h * n * positions
            for f in 0..<positions {
                var mean: Double = 0
                for t in 0..<n { mean += Double(w[t * positions + f]) }
                mean /= Double(n)
                var variance: Double = 0
                for t in 0..<n { let x = Double(w[t * positions + f]) - mean; variance += x * x }
                let std = (variance / Double(n)).squareRoot()
                for t in 0..<n { w[t * positions + f] = Float((Double(w[t * positions + f]) - mean) / std) }
            }
            for t in 0..<n { Self.medianFilter(w + t * positions, count: positions, scratch: base + layout.row) }
        }
        // Mean over heads of the rows from <|notimestamps|> on: [text + 1, positions].
        let rows = text.count + 1, first = startSequence.count
        let matrix = base + layout.matrix
        matrix.update(repeating: 0, count: rows * positions)
        for h in 0..<heads {
            let w = weights + (h * n + first) * positions
            for i in 0..<rows * positions { matrix[i] += w[i] }
        }
        for i in 0..<rows * positions { matrix[i] /= Float(heads) }
        let path = Self.negativeDTW(matrix, rows: rows, cols: positions, cost: base + layout.cost, trace: base + layout.trace)
        // The time of each text index's first step on the path.
        var jumpTimes: [Double] = []
        jumpTimes.reserveCapacity(rows)
        var previous = -1
        for (i, j) in path where i != previous {
            jumpTimes.append(Double(j) / 50)                        // 50 encoder positions per second
            previous = i
        }
        let (words, wordTokens) = split(text + [v.endOfText], language: language)
        guard wordTokens.count > 1 else { return [] }
        var boundaries = [0]
        for tokens in wordTokens.dropLast() { boundaries.append(boundaries.last! + tokens.count) }
        var out: [Timed] = []
        for w in 0..<(wordTokens.count - 1) {
            let a = boundaries[w], b = boundaries[w + 1]
            guard a < jumpTimes.count, b < jumpTimes.count else { break }
            var p: Double = 0
            for i in a..<b { p += Double(probabilities[first + i]) }
            out.append(Timed(word: words[w], tokens: wordTokens[w], start: jumpTimes[a], end: jumpTimes[b],
                             probability: b > a ? p / Double(b - a) : .nan))
        }
        return out
    }

    // MARK: words

    /// `split_to_word_tokens`: at whole characters for unspaced languages, else at spaces and punctuation.
    func split(_ tokens: [Int], language: String) -> ([String], [[Int]]) {
        let (subwords, subwordTokens) = splitOnUnicode(tokens)
        if Self.unspacedLanguages.contains(language) { return (subwords, subwordTokens) }
        var words: [String] = [], wordTokens: [[Int]] = []
        for (subword, ids) in zip(subwords, subwordTokens) {
            let special = ids[0] >= model.vocabulary.endOfText
            let withSpace = subword.hasPrefix(" ")
            // Python's `subword.strip() in string.punctuation`: a substring test (true for "").
            let stripped = subword.trimmingCharacters(in: .whitespacesAndNewlines)
            let punctuation = Self.isIn(stripped, Self.asciiPunctuation)
            if special || withSpace || punctuation || words.isEmpty {
                words.append(subword)
                wordTokens.append(ids)
            } else {
                words[words.count - 1] += subword
                wordTokens[wordTokens.count - 1] += ids
            }
        }
        return (words, wordTokens)
    }

    /// `split_tokens_on_unicode`: tokens grouped until they decode to whole characters.
    func splitOnUnicode(_ tokens: [Int]) -> ([String], [[Int]]) {
        let replacement: Unicode.Scalar = "\u{FFFD}"
        let full = Array(model.vocabulary.decode(tokens).unicodeScalars)
        var words: [String] = [], wordTokens: [[Int]] = [], current: [Int] = []
        var offset = 0
        for token in tokens {
            current.append(token)
            let decoded = model.vocabulary.decode(current)
            let scalars = Array(decoded.unicodeScalars)
            if let index = scalars.firstIndex(of: replacement) {
                let at = index + offset
                guard at < full.count, full[at] == replacement else { continue }
            }
            words.append(decoded)
            wordTokens.append(current)
            current = []
            offset += scalars.count
        }
        return (words, wordTokens)
    }

    /// `merge_punctuations`: opening marks join the next word, closing marks the previous one.
    static func mergePunctuations(_ a: inout [Timed]) {
        guard a.count > 1 else { return }
        var i = a.count - 2, j = a.count - 1
        while i >= 0 {
            let stripped = a[i].word.trimmingCharacters(in: .whitespacesAndNewlines)
            if a[i].word.hasPrefix(" "), isIn(stripped, prependPunctuations) {
                a[j].word = a[i].word + a[j].word
                a[j].tokens = a[i].tokens + a[j].tokens
                a[i].word = ""
                a[i].tokens = []
            } else {
                j = i
            }
            i -= 1
        }
        i = 0
        j = 1
        while j < a.count {
            if !a[i].word.hasSuffix(" "), isIn(a[j].word, appendPunctuations) {
                a[i].word += a[j].word
                a[i].tokens += a[j].tokens
                a[j].word = ""
                a[j].tokens = []
            } else {
                i = j
            }
            j += 1
        }
    }

    /// Python's `a in b` for strings: a substring test, true for the empty string.
    static func isIn(_ a: String, _ b: String) -> Bool { a.isEmpty || b.contains(a) }

    // MARK: numerics

    /// numpy's median (mean of the middle two for an even count); 0 for none.
    static func median(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return 0 }
        let s = xs.sorted(), m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// Python's `round(x, 2)` for the values here (half to even on the scaled value).
    static func round2(_ x: Double) -> Double { (x * 100).rounded(.toNearestOrEven) / 100 }

    /// Median of each `width` window along the row, reflected at the ends (CTranslate2's
    /// MedianFilter); rows no longer than half the width stay as they are.
    static func medianFilter(_ x: UnsafeMutablePointer<Float>, count: Int, scratch: UnsafeMutablePointer<Float>) {
        let rank = medianFilterWidth / 2
        guard count > rank else { return }
        scratch.update(from: x, count: count)
        var window = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
        withUnsafeMutableBytes(of: &window) { raw in
            let w = raw.baseAddress!.assumingMemoryBound(to: Float.self)
            for j in 0..<count {
                for k in -rank...rank {
                    var read = abs(j + k)
                    if read >= count { read = count - (read - count) - 2 }
                    w[k + rank] = scratch[read]
                }
                // Insertion sort of 7 values.
                for a in 1..<medianFilterWidth {
                    let v = w[a]
                    var b = a - 1
                    while b >= 0, w[b] > v { w[b + 1] = w[b]; b -= 1 }
                    w[b + 1] = v
                }
                x[j] = w[rank]
            }
        }
    }

    /// CTranslate2's `negative_dtw`: the cheapest monotonic path through cost = -x, as (row,
    /// column) pairs from (0, 0) to (rows - 1, cols - 1). Ties prefer left, as there.
    static func negativeDTW(_ x: UnsafePointer<Float>, rows n: Int, cols m: Int, cost: UnsafeMutablePointer<Float>,
                            trace: UnsafeMutablePointer<Float>) -> [(Int, Int)] {
        let stride = m + 1
        cost.update(repeating: .infinity, count: (n + 1) * stride)
        trace.update(repeating: -1, count: (n + 1) * stride)
        cost[0] = 0
        for j in 1...m {
            for i in 1...n {
                let c0 = cost[(i - 1) * stride + j - 1], c1 = cost[(i - 1) * stride + j], c2 = cost[i * stride + j - 1]
                let c: Float, t: Float
                if c0 < c1, c0 < c2 { c = c0; t = 0 } else if c1 < c0, c1 < c2 { c = c1; t = 1 } else { c = c2; t = 2 }
                cost[i * stride + j] = -x[(i - 1) * m + (j - 1)] + c
                trace[i * stride + j] = t
            }
        }
        for k in 0...m { trace[k] = 2 }
        for k in 0...n { trace[k * stride] = 1 }
        var path: [(Int, Int)] = []
        var i = n, j = m
        while i > 0 || j > 0 {
            path.append((i - 1, j - 1))
            switch trace[i * stride + j] {
            case 0: i -= 1; j -= 1
            case 1: i -= 1
            default: j -= 1
            }
        }
        return path.reversed()
    }
}
