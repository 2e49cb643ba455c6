import EarshotModels

/// faster-whisper's `VadOptions` (defaults as `WhisperModel.transcribe(vad_filter=True)` uses them).
public struct VADOptions: Sendable, Equatable {
    /// Probability at or above which a window is speech.
    public var threshold = 0.5
    /// Below this a window is silence (between it and `threshold`: what the previous one was).
    /// nil: max(threshold - 0.15, 0.01).
    public var negThreshold: Double?
    /// Speech shorter than this is dropped.
    public var minSpeechDurationMs = 0
    /// Longer speech is split (at the last silence of 98 ms or more, else hard). Infinity: never.
    public var maxSpeechDurationS = Double.infinity
    /// Silence shorter than this does not end speech.
    public var minSilenceDurationMs = 2000
    /// Padding added to each side of every speech chunk.
    public var speechPadMs = 400

    public init() {}

    /// Why these options cannot be used; nil when they can.
    public func problem() -> String? {
        guard threshold.isFinite, threshold > 0, threshold < 1 else { return "VAD threshold must be in (0, 1)" }
        if let n = negThreshold, !(n.isFinite && n >= 0 && n < 1) { return "VAD negative threshold must be in [0, 1)" }
        guard (0...3_600_000).contains(minSpeechDurationMs) else { return "VAD min speech duration must be 0...3600000 ms" }
        guard (0...3_600_000).contains(minSilenceDurationMs) else { return "VAD min silence duration must be 0...3600000 ms" }
        guard (0...60_000).contains(speechPadMs) else { return "VAD speech padding must be 0...60000 ms" }
        guard !maxSpeechDurationS.isNaN, maxSpeechDurationS >= 1 else { return "VAD max speech duration must be at least 1 s" }
        return nil
    }
}

/// Speech sample ranges from window probabilities, rule for rule as faster-whisper 1.2.1's
/// `get_speech_timestamps` (hysteresis between the two thresholds, silences shorter than
/// `minSilenceDurationMs` bridged, long speech split, then padding that shares short gaps).
public enum SpeechTimestamps {
    /// `probabilities` are per 512-sample window (`SileroVADModel.speechProbabilities`);
    /// `sampleCount` the length of the audio. Ranges are in samples, ascending, not overlapping.
    public static func ranges(probabilities: [Float], sampleCount: Int, options o: VADOptions,
                              sampleRate: Int = 16_000) -> [Range<Int>] {
        let window = SileroVADModel.windowSamples
        let rate = Double(sampleRate)
        let minSpeech = rate * Double(o.minSpeechDurationMs) / 1000
        let pad = rate * Double(o.speechPadMs) / 1000
        let maxSpeech = rate * o.maxSpeechDurationS - Double(window) - 2 * pad
        let minSilence = rate * Double(o.minSilenceDurationMs) / 1000
        let minSilenceAtMaxSpeech = rate * 98 / 1000
        let threshold = o.threshold
        let negThreshold = o.negThreshold ?? max(threshold - 0.15, 0.01)

        var speeches: [(start: Int, end: Int)] = []
        var triggered = false
        var current: Int?          // start of the speech being read
        var tempEnd = 0            // where a silence began (0: none)
        var prevEnd = 0, nextStart = 0   // a split point kept for over-long speech
        for (i, p32) in probabilities.enumerated() {
            let p = Double(p32), at = window * i
            if p >= threshold, tempEnd != 0 {
                tempEnd = 0
                if nextStart < prevEnd { nextStart = at }
            }
            if p >= threshold, !triggered {
                triggered = true
                current = at
                continue
            }
            if triggered, let start = current, Double(at - start) > maxSpeech {
                if prevEnd != 0 {
                    speeches.append((start, prevEnd))
                    current = nil
                    // Silence (below the negative threshold) seen since, and not speech again yet.
                    if nextStart < prevEnd { triggered = false } else { current = nextStart }
                    prevEnd = 0; nextStart = 0; tempEnd = 0
                } else {
                    speeches.append((start, at))
                    current = nil
                    prevEnd = 0; nextStart = 0; tempEnd = 0
                    triggered = false
                    continue
                }
            }
            if p < negThreshold, triggered {
                if tempEnd == 0 { tempEnd = at }
                if Double(at - tempEnd) > minSilenceAtMaxSpeech { prevEnd = tempEnd }
                if Double(at - tempEnd) < minSilence { continue }
                if let start = current, Double(tempEnd - start) > minSpeech { speeches.append((start, tempEnd)) }
                current = nil
                prevEnd = 0; nextStart = 0; tempEnd = 0
                triggered = false
                continue
            }
        }
        if let start = current, Double(sampleCount - start) > minSpeech {
            speeches.append((start, sampleCount))
        }
        // Padding: gaps shorter than two pads are shared half and half.
        for i in speeches.indices {
            if i == 0 { speeches[i].start = Int(max(0, Double(speeches[i].start) - pad)) }
            if i != speeches.count - 1 {
                let silence = speeches[i + 1].start - speeches[i].end
                if Double(silence) < 2 * pad {
                    speeches[i].end += silence / 2
                    speeches[i + 1].start = max(0, speeches[i + 1].start - silence / 2)
                } else {
                    speeches[i].end = Int(min(Double(sampleCount), Double(speeches[i].end) + pad))
                    speeches[i + 1].start = Int(max(0, Double(speeches[i + 1].start) - pad))
                }
            } else {
                speeches[i].end = Int(min(Double(sampleCount), Double(speeches[i].end) + pad))
            }
        }
        return speeches.map { $0.start..<max($0.start, $0.end) }
    }
}
