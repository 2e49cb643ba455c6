import EarshotAudio
import EarshotModels
import EarshotTensor

/// A loaded Silero VAD and the options to run it with: `TranscriptionOptions.vad`. The model is
/// read-only and shared by every request that names it.
public struct VoiceActivityFilter: Sendable {
    public let model: SileroVADModel
    public var options: VADOptions

    public init(model: SileroVADModel, options: VADOptions = VADOptions()) {
        self.model = model
        self.options = options
    }

    /// Speech sample ranges of `samples` (16 kHz).
    public func speech(_ samples: AudioSamples, options: VADOptions? = nil) throws(RuntimeError) -> [Range<Int>] {
        let o = options ?? self.options
        if let problem = o.problem() { throw .model(.unsupportedOption(problem)) }
        guard samples.sampleRate == SileroVADModel.sampleRate else {
            throw .model(.unsupportedOption("VAD needs 16 kHz audio, got \(samples.sampleRate) Hz"))
        }
        let computed: Result<[Float], ModelError> = samples.withUnsafeSamples { all in
            do throws(ModelError) { return .success(try model.speechProbabilities(all)) } catch { return .failure(error) }
        }
        let probabilities: [Float]
        do { probabilities = try computed.get() } catch { throw .model(error) }
        return SpeechTimestamps.ranges(probabilities: probabilities, sampleCount: samples.count, options: o)
    }
}

extension Session {
    /// `transcribe` with `options.vad` set. Whisper, as faster-whisper: the speech chunks joined end
    /// to end are transcribed as one clip, and segment and word times are moved back to the
    /// original timeline. Qwen3-ASR (no timestamps of its own): one pass per speech chunk (chunks
    /// capped at one pass, 1200 s), each a segment with the chunk's times; this replaces the
    /// quietest-point split of long audio. No speech: empty text, no segments.
    func transcribeSpeech(_ samples: AudioSamples, filter: VoiceActivityFilter, options: TranscriptionOptions,
                          onText: ((String) -> Void)?) throws(RuntimeError) -> TranscriptionResult {
        let clock = ContinuousClock()
        let start = clock.now
        var inner = options
        inner.vad = nil
        var vadOptions = filter.options
        let whisper = model.family == .whisper
        if !whisper { vadOptions.maxSpeechDurationS = min(vadOptions.maxSpeechDurationS, LongAudio.maxPassSeconds) }
        let chunks = try filter.speech(samples, options: vadOptions)
        let vadMs = (clock.now - start).milliseconds
        var result: TranscriptionResult
        if chunks.isEmpty {
            result = TranscriptionResult(text: "", language: options.language ?? "", tokenIDs: [],
                                         audioSeconds: samples.duration, audioTokens: 0, timings: Timings())
        } else if whisper {
            let speech = try Self.join(samples, chunks)
            defer { speech.storage.close() }
            result = try transcribe(speech, options: inner, onText: onText)
            SpeechTimeline(chunks: chunks, sampleRate: samples.sampleRate).restore(&result.segments)
        } else {
            result = TranscriptionResult(text: "", language: "", tokenIDs: [], audioSeconds: samples.duration,
                                         audioTokens: 0, timings: Timings())
            var texts: [String] = [], languages: [String] = []
            let rate = Double(samples.sampleRate)
            for chunk in chunks {
                let piece = try Self.join(samples, [chunk])
                defer { piece.storage.close() }
                if chunk.count < 160 { continue }   // under one 10 ms frame: nothing to hear
                let r = try transcribe(piece, options: inner, onText: onText)
                texts.append(r.text)
                languages.append(r.language)
                result.tokenIDs += r.tokenIDs
                result.audioTokens += r.audioTokens
                result.promptTokens += r.promptTokens
                result.timings.add(r.timings)
                if !r.text.isEmpty {
                    result.segments.append(TranscriptSegment(start: Double(chunk.lowerBound) / rate, end: Double(chunk.upperBound) / rate,
                                                             text: r.text, tokenIDs: r.tokenIDs))
                }
            }
            result.text = texts.filter { !$0.isEmpty }.joined(separator: " ")
            result.language = LongAudio.mergeLanguages(languages)
        }
        result.audioSeconds = samples.duration
        result.timings.vadMs = vadMs
        if result.timings.ttftMs > 0 { result.timings.ttftMs += vadMs }
        result.finishTimings(since: start, clock: clock)
        return result
    }

    /// The samples of `chunks`, end to end, in a new buffer (`.audio`).
    static func join(_ samples: AudioSamples, _ chunks: [Range<Int>]) throws(RuntimeError) -> AudioSamples {
        let chunks = chunks.map { $0.clamped(to: 0..<samples.count) }
        let total = chunks.reduce(0) { $0 + $1.count }
        let storage: PageBuffer
        do { storage = try PageBuffer(byteCount: max(total, 1) * 4, owner: .audio) } catch { throw .model(.weights(error)) }
        samples.withUnsafeSamples { all in
            var at = 0
            for c in chunks {
                (storage.floats() + at).update(from: all.baseAddress! + c.lowerBound, count: c.count)
                at += c.count
            }
        }
        return AudioSamples(storage: storage, count: total, sampleRate: samples.sampleRate)
    }
}

extension VoiceActivityFilter {
    /// Where `scripts/fetch-whisper-models --models silero-vad` puts the model:
    /// $EARSHOT_VAD_MODEL, else ${EARSHOT_WHISPER_CACHE:-~/.cache/earshot/whisper}/silero-vad/silero_vad_v6.onnx.
    public static func defaultModelPath(environment: [String: String]) -> String {
        if let p = environment["EARSHOT_VAD_MODEL"], !p.isEmpty { return p }
        let cache = environment["EARSHOT_WHISPER_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? "") + "/.cache/earshot/whisper"
        return cache + "/silero-vad/silero_vad_v6.onnx"
    }
}
