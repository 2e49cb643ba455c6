import EarshotModels
import EarshotTensor

/// Whisper's timestamp grammar, applied to the logits before each greedy pick when decoding with
/// timestamps (openai-whisper's `ApplyTimestampRules`, which CTranslate2 implements too):
/// - the window starts with a timestamp, at most 1 s in (`maxInitialTimestamp` steps of 20 ms);
/// - timestamps come in pairs (end of one segment, start of the next), except just before end-of-text;
/// - they never go backwards;
/// - when the timestamps together are likelier than any single text token, a timestamp is taken.
struct WhisperTimestampRules {
    let vocabulary: WhisperVocabulary
    let vocabSize: Int
    /// The first timestamp's largest index (faster-whisper: round(1.0 s / 20 ms) = 50).
    var maxInitialTimestamp = 50

    func apply(_ logits: UnsafeMutablePointer<Float>, generated: UnsafeBufferPointer<Int>) {
        let tb = vocabulary.timestampBegin, eot = vocabulary.endOfText
        logits[vocabulary.noTimestamps] = -.infinity
        let n = generated.count
        let lastWasTimestamp = n >= 1 && generated[n - 1] >= tb
        let penultimateWasTimestamp = n < 2 || generated[n - 2] >= tb
        if lastWasTimestamp {
            if penultimateWasTimestamp {
                for id in tb..<vocabSize { logits[id] = -.infinity }      // a pair just closed: text or end next
            } else {
                for id in 0..<eot { logits[id] = -.infinity }             // an open pair: its end (or end-of-text)
            }
        }
        if let last = generated.last(where: { $0 >= tb }) {
            // Non-decreasing; strictly increasing once a pair has closed.
            let floor = lastWasTimestamp && !penultimateWasTimestamp ? last : last + 1
            for id in tb..<min(floor, vocabSize) { logits[id] = -.infinity }
        }
        if n == 0 {
            for id in 0..<tb { logits[id] = -.infinity }
            for id in min(tb + maxInitialTimestamp + 1, vocabSize)..<vocabSize { logits[id] = -.infinity }
        }
        // Timestamp mass against the best text token, in log-probabilities (same normaliser).
        let timestampMass = Kernels.logSumExp(logits + tb, count: vocabSize - tb)
        var bestText = -Float.infinity
        for id in 0..<tb where logits[id] > bestText { bestText = logits[id] }
        if timestampMass > bestText {
            for id in 0..<tb { logits[id] = -.infinity }
        }
    }

    /// Seconds of a timestamp token.
    func seconds(_ id: Int) -> Double { Double(id - vocabulary.timestampBegin) * 0.02 }

    /// The segments of one window's tokens (`offset` seconds into the audio, `windowSeconds` long)
    /// and how many mel frames to advance: to the last closed pair, or the whole window.
    func segments(_ tokens: [Int], offset: Double, windowSeconds: Double, windowFrames: Int)
        -> (segments: [(start: Double, end: Double, tokens: ArraySlice<Int>)], advanceFrames: Int) {
        let tb = vocabulary.timestampBegin
        let n = tokens.count
        let singleEnding = n >= 2 && tokens[n - 1] >= tb && tokens[n - 2] < tb
        var cuts: [Int] = []
        for i in 1..<max(n, 1) where tokens[i] >= tb && tokens[i - 1] >= tb { cuts.append(i) }
        guard !cuts.isEmpty else {
            // No closed pair: one segment from the window start to the last timestamp (or the window end).
            var end = windowSeconds
            if let last = tokens.last(where: { $0 >= tb }), seconds(last) > 0 { end = seconds(last) }
            return ([(offset, offset + end, tokens[...])], windowFrames)
        }
        if singleEnding { cuts.append(n) }
        var result: [(start: Double, end: Double, tokens: ArraySlice<Int>)] = []
        var from = 0
        for cut in cuts {
            let slice = tokens[from..<cut]
            if let first = slice.first, let last = slice.last, first >= tb, last >= tb {
                result.append((offset + seconds(first), offset + seconds(last), slice))
            }
            from = cut
        }
        if singleEnding { return (result, windowFrames) }
        // Resume at the last closed timestamp (2 mel frames per timestamp step).
        let lastTimestamp = tokens[cuts.last! - 1]
        return (result, max(1, (lastTimestamp - tb) * 2))
    }
}
