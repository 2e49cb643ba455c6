/// Splitting of audio longer than one inference pass (the official `split_audio_into_chunks`,
/// `qwen_asr/inference/utils.py`).
///
/// A pass handles up to 1200 s. Longer input is cut near every 1200 s at the quietest point within
/// ±5 s, where quiet means the smallest sum of |x| over a 100 ms window. Pieces shorter than 0.5 s
/// are zero-padded to 0.5 s (only on this multi-piece path).
public enum LongAudio {
    public static let maxPassSeconds = 1200.0
    public static let searchSeconds = 5.0
    public static let windowSeconds = 0.1
    public static let minPieceSeconds = 0.5

    /// Sample ranges covering `count` samples, each at most about `maxPassSeconds` long.
    public static func pieces(_ samples: UnsafeBufferPointer<Float>, sampleRate: Int,
                              maxSeconds: Double = maxPassSeconds) -> [Range<Int>] {
        let count = samples.count
        let maxLen = Int(maxSeconds * Double(sampleRate))
        guard count > maxLen, maxLen > 0 else { return [0..<count] }
        let search = Int(searchSeconds * Double(sampleRate))
        let window = max(1, Int(windowSeconds * Double(sampleRate)))
        var ranges: [Range<Int>] = []
        var start = 0
        while count - start > maxLen {
            let target = start + maxLen
            let lo = max(start + 1, target - search)
            let hi = min(count - window, target + search)
            var cut = target
            if hi > lo {
                // Sliding |x| sum over [i, i+window); keep the quietest start.
                var sum: Float = 0
                for j in lo..<(lo + window) { sum += abs(samples[j]) }
                var best = sum
                cut = lo
                var i = lo
                while i < hi {
                    sum += abs(samples[i + window]) - abs(samples[i])
                    i += 1
                    if sum < best { best = sum; cut = i }
                }
                cut = min(count, cut + window / 2)
            }
            ranges.append(start..<cut)
            start = cut
        }
        ranges.append(start..<count)
        return ranges
    }

    /// Languages of several pieces, joined by commas without consecutive duplicates.
    public static func mergeLanguages(_ languages: [String]) -> String {
        var out: [String] = []
        for l in languages where !l.isEmpty && out.last != l { out.append(l) }
        return out.joined(separator: ",")
    }
}
