import EarshotModels

/// The forced aligner's words put back into the transcript's own spelling, and subtitle segments
/// made of them.
///
/// The aligner times cleaned words ("dog" for "dog."); for display each word takes the transcript
/// from its first letter up to the first whitespace after it, and the rest up to the next word
/// (spaces, an opening bracket) goes to the front of the next word (Whisper's " word" form), so
/// the words concatenated give the transcript back. Text before the first word belongs to it.
enum AlignedTranscript {
    /// Display words for `items` (the aligner's words of `text`, cut as `spans`), shifted by
    /// `offset` seconds and kept within `[0, duration]` of their piece: a time past the audio
    /// is not a time in it (the official `align()` does not clamp; `earshot align` does not either).
    static func words(text: String, spans: [AlignerWords.Span], items: [AlignedWord], offset: Double,
                      duration: Double) -> [TranscriptWord] {
        let scalars = Array(text.unicodeScalars)
        let count = min(spans.count, items.count)
        var out: [TranscriptWord] = []
        out.reserveCapacity(count)
        var leading = ""
        for i in 0..<count {
            let from = i == 0 ? 0 : spans[i].start
            let to = i + 1 < count ? spans[i + 1].start : scalars.count
            // From the first whitespace after the word's first letter on (the space and any
            // opening punctuation of the next word), the text belongs to the next word.
            let cut = scalars[spans[i].start..<to].firstIndex { $0.properties.isWhitespace } ?? to
            let own = String(String.UnicodeScalarView(scalars[from..<cut]))
            let next = String(String.UnicodeScalarView(scalars[cut..<to]))
            let item = items[i]
            let start = min(max(item.start, 0), duration), end = min(max(item.end, item.start, 0), duration)
            out.append(TranscriptWord(start: offset + start, end: offset + end, word: leading + own, probability: 0))
            leading = next
        }
        return out
    }

    /// Sentence-final punctuation that ends a segment (Latin, CJK full-width, ellipsis), looked
    /// for before closing quotes and brackets.
    static let sentenceEnds: Set<Character> = [".", "!", "?", "。", "！", "？", "…"]
    static let closers: Set<Character> = ["\"", "'", "”", "’", ")", "]", "」", "』", "）"]

    /// Silence between words that starts a new segment.
    static let pauseSeconds = 0.8

    /// Segments of consecutive words: a segment ends after a sentence-final word, before a pause
    /// of `pauseSeconds`, before a word that would take its text past `maxChars` (subtitle lines),
    /// and at `breaks` (indices where a new piece of audio starts). `withWords` keeps each
    /// segment's words.
    static func segments(_ words: [TranscriptWord], breaks: Set<Int> = [], maxChars: Int? = nil,
                         withWords: Bool) -> [TranscriptSegment] {
        var segments: [TranscriptSegment] = []
        var current: [TranscriptWord] = []
        func close() {
            guard let first = current.first, let last = current.last else { return }
            let text = String(current.map(\.word).joined().drop(while: \.isWhitespace))
            segments.append(TranscriptSegment(start: first.start, end: last.end, text: text, tokenIDs: [],
                                              words: withWords ? current : nil))
            current = []
        }
        for (i, w) in words.enumerated() {
            if let previous = current.last {
                let length = current.map(\.word).joined().drop(while: \.isWhitespace).count + w.word.count
                if breaks.contains(i) || w.start - previous.end >= pauseSeconds || (maxChars.map { length > $0 } ?? false) {
                    close()
                }
            }
            current.append(w)
            if endsSentence(w.word) { close() }
        }
        close()
        return segments
    }

    static func endsSentence(_ word: String) -> Bool {
        var text = Substring(word)
        while let last = text.last, closers.contains(last) { text = text.dropLast() }
        return text.last.map { sentenceEnds.contains($0) } ?? false
    }
}
