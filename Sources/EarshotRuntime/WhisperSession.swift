import EarshotAudio
import EarshotModels
import EarshotTensor
import Foundation

/// A Whisper session: log-mel of the whole clip, then for each 30 s window: encoder, prompt
/// (start-of-transcript, language and task on multilingual models, no-timestamps), greedy
/// decoding to end-of-text with the checkpoint's suppressed tokens, text. Its `WhisperState`
/// (caches and scratch) and audio arena are allocated on first use and reused by every request.
/// Driven by `Session`, one request at a time.
final class WhisperSession {
    let model: WhisperModel
    let mel: MelSpectrogram
    /// The state (caches, scratch), the arena for the clip's padded samples and features, and the
    /// cancellation flag.
    private let storage: SessionStorage<WhisperState>
    private var arena: ScratchArena { storage.arena }
    private var cancel: CancelFlag { storage.cancel }
    /// Suppressed at every step / additionally at the first generated token; built once.
    private let suppressed: [Int]
    private let suppressedAtBegin: [Int]

    init(model: WhisperModel, cancel: CancelFlag) throws(RuntimeError) {
        self.model = model
        storage = SessionStorage(cancel: cancel)
        do { mel = try MelSpectrogram(bins: model.dims.melBins) } catch { throw .audio(error) }
        let v = model.vocabulary
        // The checkpoint's list (faster-whisper's `suppress_tokens=[-1]` expands to the same ids),
        // plus the task and start tokens, which must never come out as text. Timestamps are not
        // suppressed: decoding behind <|notimestamps|> leaves them to the model, as CTranslate2
        // does, and the text skips any id >= end-of-text.
        var s = Set(model.generation.suppressTokens)
        for id in [v.transcribe, v.translate, v.startOfTranscript, v.id(of: "<|startofprev|>"), v.id(of: "<|startoflm|>"),
                   v.noSpeech] {
            if let id { s.insert(id) }
        }
        suppressed = s.sorted()
        suppressedAtBegin = model.generation.suppressAtBegin
    }

    /// Samples appended after the clip before features, as faster-whisper does (one hop of silence).
    static let paddingSamples = 160

    func transcribe(_ samples: AudioSamples, options: TranscriptionOptions,
                    onText: ((String) -> Void)?) throws(RuntimeError) -> TranscriptionResult {
        let clock = ContinuousClock()
        let start = clock.now
        let languageID = try forcedLanguage(options)
        guard options.context.isEmpty else {
            throw .model(.unsupportedOption("context (an initial prompt) is not supported for Whisper models yet"))
        }
        guard samples.count >= mel.hop else { throw .model(.audioTooShort(samples: samples.count)) }
        let state = try storage.state(make: { () throws(ModelError) in try model.makeState() })
        let dims = model.dims, window = dims.windowFrames, bins = mel.bins

        // Features of the whole clip (normalised over the clip): [bins, frames].
        let padded = samples.count + Self.paddingSamples
        let frames = mel.frameCount(samples: padded)
        var layout = ScratchLayout()
        let aOffset = layout.add(padded), fOffset = layout.add(bins * frames), mOffset = layout.add(mel.scratchFloats)
        let base: UnsafeMutablePointer<Float>
        do { base = try arena.reserve(floats: layout.floats) } catch { throw .model(.weights(error)) }
        samples.withUnsafeSamples { all in
            (base + aOffset).update(from: all.baseAddress!, count: all.count)
            (base + aOffset + all.count).update(repeating: 0, count: Self.paddingSamples)
        }
        do {
            try mel.compute(UnsafeBufferPointer(start: base + aOffset, count: padded), into: base + fOffset,
                            scratch: base + mOffset)
        } catch {
            throw .audio(error)
        }
        var result = TranscriptionResult(text: "", language: "", tokenIDs: [], audioSeconds: samples.duration,
                                         audioTokens: 0, timings: Timings())
        result.timings.encodeMs = (clock.now - start).milliseconds
        var texts: [String] = []
        var detected: Int?
        var stream = WhisperTextStream(onText: onText)
        // 30 s windows, back to back. The last frame is the padding's, not content.
        let content = max(frames - 1, 1)
        var seek = 0
        while seek < content {
            try cancel.check()
            let count = min(window, content - seek)
            // Window features, zero-padded (in the normalised log-mel domain) to 30 s.
            let dst = state.melPointer
            for b in 0..<bins {
                let row = dst + b * window
                row.update(from: base + fOffset + b * frames + seek, count: count)
                (row + count).update(repeating: 0, count: window - count)
            }
            let encodeStart = clock.now
            model.encode(state)
            result.timings.encodeMs += (clock.now - encodeStart).milliseconds
            result.audioTokens += dims.audioContext
            try cancel.check()
            var language = languageID
            if language == nil, model.isMultilingual {
                if detected == nil { detected = try detectLanguage(state) }
                language = detected
            }
            let outcome = try decodeWindow(state, language: language, options: options, start: start,
                                           result: &result, stream: &stream)
            let offset = Double(seek) / 100, seconds = Double(count) / 100   // 100 mel frames per second
            var advance = window
            if !outcome.silent {
                if options.timestamps {
                    let rules = WhisperTimestampRules(vocabulary: model.vocabulary, vocabSize: dims.vocabSize)
                    let split = rules.segments(outcome.tokens, offset: offset, windowSeconds: seconds, windowFrames: count)
                    advance = split.advanceFrames
                    for piece in split.segments {
                        let text = model.vocabulary.decode(piece.tokens).trimmingCharacters(in: .whitespacesAndNewlines)
                        guard !text.isEmpty else { continue }
                        result.segments.append(TranscriptSegment(
                            start: piece.start, end: piece.end, text: text, tokenIDs: Array(piece.tokens),
                            avgLogprob: Double(outcome.averageLogProb), noSpeechProb: Double(outcome.noSpeech)))
                    }
                } else if !outcome.text.isEmpty {
                    result.segments.append(TranscriptSegment(
                        start: offset, end: offset + seconds, text: outcome.text, tokenIDs: outcome.tokens,
                        avgLogprob: Double(outcome.averageLogProb), noSpeechProb: Double(outcome.noSpeech)))
                }
                if !outcome.text.isEmpty { texts.append(outcome.text) }
            }
            seek += options.timestamps ? min(advance, count) : window
        }
        stream.finish()
        result.text = texts.joined(separator: " ")
        if let id = languageID ?? detected ?? (model.isMultilingual ? nil : model.vocabulary.languages["en"]),
           let code = model.vocabulary.languages.first(where: { $0.value == id })?.key {
            result.language = WhisperLanguages.name(of: code)
        } else if !model.isMultilingual {
            result.language = "English"
        }
        result.finishTimings(since: start, clock: clock)
        return result
    }

    /// The language token for `options.language` (a code or English name), nil when not given.
    private func forcedLanguage(_ options: TranscriptionOptions) throws(RuntimeError) -> Int? {
        guard let requested = options.language else { return nil }
        let v = model.vocabulary
        let supported = model.supportedLanguages
        guard let code = WhisperLanguages.code(for: requested) else {
            throw .model(.unknownLanguage(requested, supported: supported))
        }
        guard model.isMultilingual else {
            guard code == "en" else { throw .model(.unknownLanguage(requested, supported: supported)) }
            return nil   // English-only models have no language token
        }
        guard let id = v.languages[code] else { throw .model(.unknownLanguage(requested, supported: supported)) }
        return id
    }

    /// The most likely language token after start-of-transcript.
    private func detectLanguage(_ state: WhisperState) throws(RuntimeError) -> Int {
        state.reset()
        do { try model.decode([model.vocabulary.startOfTranscript], state: state) } catch { throw .model(error) }
        let logits = state.logitsPointer
        var best = -1, bestValue = -Float.infinity
        for id in model.vocabulary.languages.values where logits[id] > bestValue || best < 0 {
            best = id
            bestValue = logits[id]
        }
        state.reset()
        return best
    }

    /// faster-whisper's silence rule: a window whose no-speech probability exceeds this ...
    static let noSpeechThreshold: Float = 0.6
    /// ... and whose mean log-probability (text tokens and end-of-text) is at most this, yields no text.
    static let logProbThreshold: Float = -1.0

    /// What decoding one window gave.
    struct WindowOutcome {
        var tokens: [Int]
        /// Text of the window's tokens, trimmed.
        var text: String
        /// Judged silent by faster-whisper's rule: contributes no text or segments.
        var silent: Bool
        var averageLogProb: Float
        var noSpeech: Float
    }

    /// Greedy decoding of the encoded window.
    private func decodeWindow(_ state: WhisperState, language: Int?, options: TranscriptionOptions,
                              start: ContinuousClock.Instant, result: inout TranscriptionResult,
                              stream: inout WhisperTextStream) throws(RuntimeError) -> WindowOutcome {
        let clock = ContinuousClock()
        let v = model.vocabulary
        var prompt = [v.startOfTranscript]
        if model.isMultilingual, let language { prompt += [language, v.transcribe ?? v.noTimestamps] }
        if !options.timestamps { prompt.append(v.noTimestamps) }
        state.reset()
        let prefillStart = clock.now
        // Start-of-transcript alone first: the no-speech probability is read at its position.
        var noSpeech: Float = 0
        do {
            try model.decode([prompt[0]], state: state)
            if let id = v.noSpeech {
                let logits = state.logitsPointer
                noSpeech = Foundation.exp(logits[id] - Kernels.logSumExp(logits, count: model.dims.vocabSize))
            }
            try model.decode(Array(prompt.dropFirst()), state: state)
        } catch {
            throw .model(error)
        }
        result.timings.prefillMs += (clock.now - prefillStart).milliseconds
        result.promptTokens += prompt.count
        // A window that may be judged silent is held back from the stream until it is not.
        let mayBeSilent = noSpeech > Self.noSpeechThreshold
        if mayBeSilent { stream.hold() }

        // CTranslate2 decodes at most half the text context (224 tokens).
        let limit = max(0, min(options.maxNewTokens, model.dims.textContext / 2))
        let vocab = model.dims.vocabSize
        var generated: [Int] = []
        generated.reserveCapacity(limit)
        var logProbSum: Float = 0
        let loop = LoopGuard(repeats: options.loopGuardRepeats)
        let rules = options.timestamps ? WhisperTimestampRules(vocabulary: v, vocabSize: vocab) : nil
        var decodeStart = clock.now
        while generated.count < limit {
            let logits = state.logitsPointer
            for id in suppressed { logits[id] = -.infinity }
            if generated.isEmpty { for id in suppressedAtBegin { logits[id] = -.infinity } }
            rules?.apply(logits, generated: generated)
            let next = Kernels.argmax(logits, count: vocab)
            logProbSum += logits[next] - Kernels.logSumExp(logits, count: vocab)
            if generated.isEmpty {
                decodeStart = clock.now
                if result.timings.ttftMs == 0 { result.timings.ttftMs = (decodeStart - start).milliseconds }
            }
            if !options.ignoreEOS, next == v.endOfText { break }
            generated.append(next)
            stream.push(next, vocabulary: v)
            if loop.shouldStop(after: generated) { break }
            guard generated.count < limit, state.length < model.dims.textContext else { break }
            try cancel.check()
            do { try model.decode(token: next, state: state) } catch { throw .model(error) }
        }
        result.timings.decodeMs += (clock.now - decodeStart).milliseconds
        result.tokenIDs += generated
        let averageLogProb = logProbSum / Float(generated.count + 1)
        let silent = mayBeSilent && averageLogProb <= Self.logProbThreshold
        stream.endWindow(discard: silent)
        return WindowOutcome(tokens: generated, text: silent ? "" : v.decode(generated).trimmingCharacters(in: .whitespacesAndNewlines),
                             silent: silent, averageLogProb: averageLogProb, noSpeech: noSpeech)
    }

    func reset() { storage.reset() }

    func close() { storage.close() }

    var mappedBytes: Int { storage.mappedBytes }
}

/// Streams Whisper text as tokens arrive: whole UTF-8 characters only, no leading whitespace in a
/// window, trailing whitespace held until text follows it, one space between windows; so the
/// pieces add up to the final (trimmed, space-joined) text.
struct WhisperTextStream {
    private let onText: ((String) -> Void)?
    private var pending: [UInt8] = []
    private var windowHasText = false
    private var needsSeparator = false
    private var holding = false

    init(onText: ((String) -> Void)?) { self.onText = onText }

    mutating func push(_ id: Int, vocabulary: WhisperVocabulary) {
        guard onText != nil else { return }
        vocabulary.bytes(CollectionOfOne(id), into: &pending)
        if !holding { flush(final: false) }
    }

    /// Buffers the current window's text instead of emitting it (until `endWindow`).
    mutating func hold() { holding = true }

    mutating func endWindow(discard: Bool = false) {
        if discard { pending.removeAll() } else { holding = false; flush(final: true) }
        holding = false
        if windowHasText { needsSeparator = true }
        windowHasText = false
    }

    mutating func finish() { flush(final: true) }

    private mutating func flush(final: Bool) {
        guard let onText else { return }
        let complete = final ? pending.count : Self.completePrefix(pending)
        let incomplete = Array(pending[complete...])
        var text = Substring(String(decoding: pending[..<complete], as: UTF8.self))
        if !windowHasText { text = text.drop { $0.isWhitespace } }
        var body = text
        while let last = body.last, last.isWhitespace { body.removeLast() }
        pending = final ? [] : Array(text.utf8.dropFirst(body.utf8.count)) + incomplete
        guard !body.isEmpty else { return }
        onText((needsSeparator && !windowHasText ? " " : "") + body)
        windowHasText = true
        needsSeparator = false
    }

    /// Length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence.
    static func completePrefix(_ bytes: [UInt8]) -> Int {
        var i = bytes.count, continuation = 0
        while i > 0, continuation < 3, bytes[i - 1] & 0xC0 == 0x80 { i -= 1; continuation += 1 }
        guard i > 0 else { return bytes.count }
        let lead = bytes[i - 1]
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return length > continuation + 1 ? i - 1 : bytes.count
    }
}
