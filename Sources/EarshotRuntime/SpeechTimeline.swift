import Foundation

/// Maps times in the speech-only audio (speech chunks joined end to end) back to the original
/// clip, as faster-whisper's `SpeechTimestampsMap` and `restore_speech_timestamps` do.
public struct SpeechTimeline: Sendable, Equatable {
    /// End of each chunk in the joined audio (samples), and the silence removed before it (s).
    public private(set) var chunkEnds: [Int] = []
    public private(set) var silenceBefore: [Double] = []
    public let sampleRate: Int

    /// `chunks`: ascending, non-overlapping sample ranges of the original clip.
    public init(chunks: [Range<Int>], sampleRate: Int) {
        self.sampleRate = sampleRate
        var previousEnd = 0, silent = 0
        for c in chunks {
            silent += c.lowerBound - previousEnd
            previousEnd = c.upperBound
            chunkEnds.append(c.upperBound - silent)
            silenceBefore.append(Double(silent) / Double(sampleRate))
        }
    }

    /// The chunk a joined-audio time falls in; an end exactly on a chunk's end stays in it.
    public func chunkIndex(_ time: Double, isEnd: Bool = false) -> Int {
        let sample = Int(time * Double(sampleRate))
        if isEnd, let i = chunkEnds.firstIndex(of: sample) { return i }
        // bisect_right: the first chunk ending after `sample`.
        var lo = 0, hi = chunkEnds.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if chunkEnds[mid] <= sample { lo = mid + 1 } else { hi = mid }
        }
        return min(lo, max(chunkEnds.count - 1, 0))
    }

    /// The original time of a joined-audio time, rounded to 10 ms.
    public func originalTime(_ time: Double, chunk: Int? = nil, isEnd: Bool = false) -> Double {
        guard !silenceBefore.isEmpty else { return time }
        let i = chunk ?? chunkIndex(time, isEnd: isEnd)
        return ((silenceBefore[i] + time) * 100).rounded(.toNearestOrEven) / 100
    }

    /// Moves segments (and their words) to the original timeline. A segment with words takes its
    /// bounds from them; each word maps through the chunk of its middle.
    public func restore(_ segments: inout [TranscriptSegment]) {
        for s in segments.indices {
            if var words = segments[s].words, !words.isEmpty {
                for w in words.indices {
                    let chunk = chunkIndex((words[w].start + words[w].end) / 2)
                    words[w].start = originalTime(words[w].start, chunk: chunk)
                    words[w].end = originalTime(words[w].end, chunk: chunk)
                }
                segments[s].start = words[0].start
                segments[s].end = words[words.count - 1].end
                segments[s].words = words
            } else {
                segments[s].start = originalTime(segments[s].start)
                segments[s].end = originalTime(segments[s].end, isEnd: true)
            }
        }
    }
}
