import EarshotAudio
import EarshotModels
import EarshotTensor

/// What the forced aligner adds to a Qwen3-ASR transcription.
public enum AlignmentGranularity: String, Sendable, CaseIterable {
    /// Segments with their words.
    case word
    /// Segments only (built from the words, which are then dropped).
    case segment
}

extension Session {
    /// Pieces the aligner times at once: the official `Qwen3ASRModel.transcribe(return_time_stamps=True)`
    /// cuts audio into 180 s chunks for it (its head spans 400 s).
    public static let alignedPieceSeconds = 180.0

    /// Qwen3-ASR transcription timed by a Qwen3-ForcedAligner: the audio is cut into pieces of at
    /// most `alignedPieceSeconds` (speech chunks with `options.vad`, else at the quietest points),
    /// each piece is transcribed and its transcript aligned to it; the words, moved to the
    /// original timeline in the transcript's spelling, make segments (sentence ends, pauses of
    /// 0.8 s, `maxLineChars`, piece boundaries).
    public func transcribe(_ samples: AudioSamples, options: TranscriptionOptions, aligner alignerSession: Session,
                           granularity: AlignmentGranularity = .word, maxLineChars: Int? = nil,
                           onText: ((String) -> Void)? = nil) throws(RuntimeError) -> TranscriptionResult {
        guard model.family == .qwen3ASR else {
            throw .model(.unsupportedOption("the forced aligner times Qwen3-ASR transcripts; Whisper has word timestamps of its own"))
        }
        guard let aligner = alignerSession.alignerSession else {
            throw .model(.unsupportedOption("\(alignerSession.model.directory) is not a Qwen3-ForcedAligner"))
        }
        try OptionBounds.check(options)
        let clock = ContinuousClock()
        let start = clock.now
        var inner = options
        inner.vad = nil
        inner.wordTimestamps = false   // the words come from the aligner
        var ranges: [Range<Int>]
        var vadMs = 0.0
        if let filter = options.vad {
            var vadOptions = filter.options
            vadOptions.maxSpeechDurationS = min(vadOptions.maxSpeechDurationS, Self.alignedPieceSeconds)
            ranges = try filter.speech(samples, options: vadOptions)
            vadMs = (clock.now - start).milliseconds
        } else {
            ranges = samples.withUnsafeSamples {
                LongAudio.pieces($0, sampleRate: samples.sampleRate, maxSeconds: Self.alignedPieceSeconds)
            }
        }
        ranges = ranges.filter { $0.count >= 160 }   // under one 10 ms frame: nothing to hear
        let rate = Double(samples.sampleRate)
        var result = TranscriptionResult(text: "", language: "", tokenIDs: [], audioSeconds: samples.duration,
                                         audioTokens: 0, timings: Timings())
        var texts: [String] = [], languages: [String] = [], words: [TranscriptWord] = [], breaks: Set<Int> = []
        for range in ranges {
            let piece = try Self.join(samples, [range])
            defer { piece.storage.close() }
            let r = try transcribe(piece, options: inner, onText: onText)
            result.tokenIDs += r.tokenIDs
            result.audioTokens += r.audioTokens
            result.promptTokens += r.promptTokens
            result.timings.add(r.timings)
            languages.append(r.language)
            guard !r.text.isEmpty else { continue }
            texts.append(r.text)
            let language = r.language.isEmpty ? options.language : r.language
            let alignStart = clock.now
            let spans = try AlignerSession.spans(r.text, language: language)
            let timed = try aligner.align(piece, spans: spans, since: alignStart)
            result.timings.alignMs += (clock.now - alignStart).milliseconds
            breaks.insert(words.count)
            words += AlignedTranscript.words(text: r.text, spans: spans, items: timed.words,
                                             offset: Double(range.lowerBound) / rate, duration: piece.duration)
        }
        result.text = texts.joined(separator: " ")
        result.language = LongAudio.mergeLanguages(languages)
        result.segments = AlignedTranscript.segments(words, breaks: breaks, maxChars: maxLineChars,
                                                     withWords: granularity == .word)
        result.timings.vadMs = vadMs
        if result.timings.ttftMs > 0 { result.timings.ttftMs += vadMs }
        result.finishTimings(since: start, clock: clock)
        return result
    }
}
