import EarshotAudio
import EarshotModels
import EarshotTensor
import EarshotTokenizer
import Foundation

/// A Qwen3-ASR session: features -> encoder -> prompt -> greedy decode -> parsed (language, text).
/// It owns the decoder state (KV cache and scratch), sized on first use and reused by every later
/// request. Driven by `Session`, one request at a time.
final class Qwen3ASRSession {
    let model: Qwen3ASRModel
    let front: Qwen3AudioFront
    /// The decoder state (KV cache, scratch), the per-request arena and the cancellation flag.
    private let storage: SessionStorage<Qwen3ASRState>
    private var arena: ScratchArena { storage.arena }

    init(model: Qwen3ASRModel, cancel: CancelFlag) throws(RuntimeError) {
        self.model = model
        storage = SessionStorage(cancel: cancel)
        front = try Qwen3AudioFront(features: model.features)
    }

    /// Transcribes 16 kHz mono samples. `onText` receives transcript text as it is decoded.
    func transcribe(_ samples: AudioSamples, options: TranscriptionOptions,
                    onText: ((String) -> Void)?) throws(RuntimeError) -> TranscriptionResult {
        let clock = ContinuousClock()
        let start = clock.now
        guard options.task == .transcribe else {
            throw .model(.unsupportedOption("task 'translate' needs a multilingual Whisper model; Qwen3-ASR only transcribes"))
        }
        guard !options.wordTimestamps else {
            throw .model(.unsupportedOption("word timestamps need a Whisper model; Qwen3-ASR has no timestamps of its own"))
        }
        var language: String?
        if let requested = options.language {
            guard let l = Qwen3ASRPrompt.normalizeLanguage(requested, supported: model.supportedLanguages) else {
                throw .model(.unknownLanguage(requested, supported: model.supportedLanguages))
            }
            language = l
        }
        guard samples.count >= front.mel.hop else { throw .model(.audioTooShort(samples: samples.count)) }
        let ranges = samples.withUnsafeSamples { LongAudio.pieces($0, sampleRate: samples.sampleRate) }
        var result = TranscriptionResult(text: "", language: "", tokenIDs: [], audioSeconds: samples.duration,
                                         audioTokens: 0, timings: Timings())
        var texts: [String] = [], languages: [String] = []
        for range in ranges {
            let piece = try pass(samples, range: range, padTo: ranges.count > 1 ? Int(LongAudio.minPieceSeconds * 16_000) : 0,
                                 language: language, options: options, start: start, result: &result, onText: onText)
            texts.append(piece.text)
            languages.append(piece.language)
        }
        result.text = texts.filter { !$0.isEmpty }.joined(separator: " ")
        result.language = LongAudio.mergeLanguages(languages)
        result.finishTimings(since: start, clock: clock)
        return result
    }

    /// One pass over `range` (at most ~20 minutes).
    private func pass(_ samples: AudioSamples, range: Range<Int>, padTo: Int, language: String?,
                      options: TranscriptionOptions, start: ContinuousClock.Instant,
                      result: inout TranscriptionResult, onText: ((String) -> Void)?) throws(RuntimeError) -> (language: String, text: String) {
        let clock = ContinuousClock()
        let passStart = clock.now
        let hidden = model.config.thinkerConfig.textConfig.hiddenSize
        let (embeds, n) = try front.encode(samples, range: range, padTo: padTo, model: model, hidden: hidden,
                                           arena: arena, cancel: storage.cancel)
        result.timings.encodeMs += (clock.now - passStart).milliseconds
        result.audioTokens += n

        // Prompt and prefill.
        let prompt: [Int]
        do { prompt = try model.promptTokens(context: options.context, language: language, audioTokens: n) } catch { throw .model(error) }
        // Clamped here too, not only checked at the door (`OptionBounds.check` in `Session`): the
        // sum below must not overflow whatever a caller put in the options.
        let maxNew = max(0, min(options.maxNewTokens, OptionBounds.maxTokens.range.upperBound))
        let state = try state(capacity: prompt.count + maxNew)
        state.reset()
        try checkCancelled()
        let prefillStart = clock.now
        do { try model.prefill(tokens: prompt, audio: embeds, audioCount: n, state: state) } catch { throw .model(error) }
        result.timings.prefillMs += (clock.now - prefillStart).milliseconds
        result.promptTokens += prompt.count

        // Greedy decoding.
        let vocab = model.config.thinkerConfig.textConfig.vocabSize
        var generated: [Int] = []
        generated.reserveCapacity(min(maxNew, 4096))   // no growth inside the decode loop
        var stream = TranscriptStream(tokenizer: model.tokenizer, forcedLanguage: language != nil, onText: onText)
        let loop = LoopGuard(repeats: options.loopGuardRepeats)
        var decodeStart = clock.now
        while generated.count < maxNew {
            let next = Kernels.argmax(state.logitsPointer, count: vocab)
            if generated.isEmpty {
                decodeStart = clock.now
                if result.timings.ttftMs == 0 { result.timings.ttftMs = (decodeStart - start).milliseconds }
            }
            if !options.ignoreEOS, model.eosIDs.contains(next) { break }
            generated.append(next)
            stream.push(next)
            if loop.shouldStop(after: generated) { break }
            guard generated.count < maxNew else { break }
            try checkCancelled()
            do { try model.step(token: next, state: state) } catch { throw .model(error) }
        }
        stream.finish()
        result.timings.decodeMs += (clock.now - decodeStart).milliseconds
        result.tokenIDs += generated
        let raw = model.tokenizer.decode(generated, skipSpecial: true)
        return Qwen3ASROutput.parse(raw, forcedLanguage: language)
    }

    /// The session's decoder state, grown (never per token) when a request needs more positions.
    private func state(capacity: Int) throws(RuntimeError) -> Qwen3ASRState {
        // Round up so nearby lengths reuse the same state; untouched pages cost no memory.
        let rounded = (capacity + 1023) / 1024 * 1024
        return try storage.state(fits: { $0.maxTokens >= capacity }, make: { () throws(ModelError) in
            try model.makeState(maxTokens: rounded)
        })
    }

    private func checkCancelled() throws(RuntimeError) { try storage.cancel.check() }

    func reset() { storage.reset() }

    func close() { storage.close() }

    var mappedBytes: Int { storage.mappedBytes }
}
