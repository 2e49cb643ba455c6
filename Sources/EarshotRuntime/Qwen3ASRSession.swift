import EarshotAudio
import EarshotModels
import EarshotTensor
import EarshotTokenizer
import Foundation
import Synchronization

/// A Qwen3-ASR session: features -> encoder -> prompt -> greedy decode -> parsed (language, text).
/// It owns the decoder state (KV cache and scratch), sized on first use and reused by every later
/// request. Driven by `Transcriber`, one request at a time.
final class Qwen3ASRSession {
    let model: Qwen3ASRModel
    let mel: MelSpectrogram
    private var state: Qwen3ASRState?
    /// The state's mapped bytes, for status reports read on other threads while a request runs
    /// (reading `state` itself there raced its replacement; found by ThreadSanitizer).
    private let stateBytes = Atomic<Int>(0)
    /// Per-request buffers (features, embeddings, encoder scratch), reused across requests.
    private let arena = ScratchArena(owner: .scratch)
    private let cancel: CancelFlag

    init(model: Qwen3ASRModel, cancel: CancelFlag) throws(RuntimeError) {
        self.model = model
        self.cancel = cancel
        do {
            let f = model.features
            mel = try MelSpectrogram(bins: f.featureSize, sampleRate: f.samplingRate, nFFT: f.nFFT, hop: f.hopLength)
        } catch {
            throw .audio(error)
        }
    }

    /// Transcribes 16 kHz mono samples. `onText` receives transcript text as it is decoded.
    func transcribe(_ samples: AudioSamples, options: TranscriptionOptions,
                    onText: ((String) -> Void)?) throws(RuntimeError) -> TranscriptionResult {
        let clock = ContinuousClock()
        let start = clock.now
        var language: String?
        if let requested = options.language {
            guard let l = Qwen3ASRPrompt.normalizeLanguage(requested, supported: model.supportedLanguages) else {
                throw .model(.unknownLanguage(requested, supported: model.supportedLanguages))
            }
            language = l
        }
        guard samples.count >= mel.hop else { throw .model(.audioTooShort(samples: samples.count)) }
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
        let total = (clock.now - start).milliseconds
        if result.tokenIDs.count > 1, result.timings.decodeMs > 0 {
            result.timings.tokensPerSecond = Double(result.tokenIDs.count - 1) / (result.timings.decodeMs / 1000)
        }
        result.timings.totalMs = total
        result.timings.rtf = samples.duration > 0 ? total / 1000 / samples.duration : 0
        return result
    }

    /// One pass over `range` (at most ~20 minutes).
    private func pass(_ samples: AudioSamples, range: Range<Int>, padTo: Int, language: String?,
                      options: TranscriptionOptions, start: ContinuousClock.Instant,
                      result: inout TranscriptionResult, onText: ((String) -> Void)?) throws(RuntimeError) -> (language: String, text: String) {
        let clock = ContinuousClock()
        let passStart = clock.now
        // Features, encoder scratch and audio embeddings share the session's arena:
        // [bins, frames] features | mel scratch | [n, hidden] embeddings | encoder scratch.
        let frames = mel.frameCount(samples: max(range.count, padTo))
        let n = model.audioTokenCount(frames: frames)
        let hidden = model.config.thinkerConfig.textConfig.hiddenSize
        var layout = ScratchLayout()
        let fOffset = layout.add(mel.bins * frames), mOffset = layout.add(mel.scratchFloats)
        let eOffset = layout.add(max(n, 1) * hidden), sOffset = layout.add(model.encoderScratchFloats(frames: frames))
        let base: UnsafeMutablePointer<Float>
        do { base = try arena.reserve(floats: layout.floats) } catch { throw .model(.weights(error)) }
        let mel = self.mel
        let computed: Result<Int, AudioError> = samples.withUnsafeSamples { all in
            let slice = UnsafeBufferPointer(rebasing: all[range])
            let run = { (p: UnsafeBufferPointer<Float>) in
                Result { () throws(AudioError) in try mel.compute(p, into: base + fOffset, scratch: base + mOffset) }
            }
            guard slice.count < padTo else { return run(slice) }
            var padded = [Float](repeating: 0, count: padTo)
            padded.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: slice.baseAddress!, count: slice.count) }
            return padded.withUnsafeBufferPointer(run)
        }
        if case .failure(let e) = computed { throw .audio(e) }
        try checkCancelled()
        // Encoder.
        do { try model.encode(mel: base + fOffset, frames: frames, into: base + eOffset, scratch: base + sOffset) } catch {
            throw .model(error)
        }
        let embeds = UnsafePointer(base + eOffset)
        result.timings.encodeMs += (clock.now - passStart).milliseconds
        result.audioTokens += n

        // Prompt and prefill.
        let prompt: [Int]
        do { prompt = try model.promptTokens(context: options.context, language: language, audioTokens: n) } catch { throw .model(error) }
        // Clamped here too, not only checked at the door (`OptionBounds.check` in `Transcriber`): the
        // sum below must not overflow whatever a caller put in the options.
        let maxNew = max(0, min(options.maxNewTokens, OptionBounds.maxTokens.range.upperBound))
        let state = try session(capacity: prompt.count + maxNew)
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
    private func session(capacity: Int) throws(RuntimeError) -> Qwen3ASRState {
        if let state, state.maxTokens >= capacity { return state }
        state?.close()
        state = nil
        stateBytes.store(0, ordering: .relaxed)
        // Round up so nearby lengths reuse the same state; untouched pages cost no memory.
        let rounded = (capacity + 1023) / 1024 * 1024
        do {
            let s = try model.makeState(maxTokens: rounded)
            state = s
            stateBytes.store(s.mappedBytes, ordering: .relaxed)
            return s
        } catch {
            throw .model(error)
        }
    }

    private func checkCancelled() throws(RuntimeError) { try cancel.check() }

    func reset() { state?.reset() }

    func close() {
        state?.close()
        state = nil
        stateBytes.store(0, ordering: .relaxed)
        arena.close()
    }

    deinit { state?.close() }

    var mappedBytes: Int { stateBytes.load(ordering: .relaxed) + arena.mappedBytes }
}
