import EarshotAudio
import EarshotModels
import EarshotTensor
import Foundation

/// A Whisper session, faster-whisper's `transcribe()` pipeline: log-mel of the whole clip, then
/// window by window (30 s, or up to the last timestamp of the previous one): encoder, prompt
/// (the previous windows' text after <|startofprev|> when conditioning, start-of-transcript,
/// language and task on multilingual models, <|notimestamps|> without timestamps), the search
/// (`WhisperSearch`: beam search, then sampling at rising temperatures while the text is too
/// repetitive or too unlikely), the silence rule, segments split at timestamp pairs. Its
/// `WhisperState` (caches, one per hypothesis slot, and scratch) and audio arena are allocated on
/// first use and reused by every request. Driven by `Session`, one request at a time.
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
    /// The search's buffers, sized for the state's slots; remade with the state.
    private var search: WhisperSearch?

    init(model: WhisperModel, cancel: CancelFlag) throws(RuntimeError) {
        self.model = model
        storage = SessionStorage(cancel: cancel)
        do { mel = try MelSpectrogram(bins: model.dims.melBins) } catch { throw .audio(error) }
        let v = model.vocabulary
        // The checkpoint's list (faster-whisper's `suppress_tokens=[-1]` expands to the same ids),
        // plus the task and start tokens, which must never come out as text (faster-whisper's
        // `get_suppressed_tokens`). <|notimestamps|> and the timestamps are left to the model when
        // decoding behind <|notimestamps|>, as CTranslate2 does; the text skips any id >= end-of-text.
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
    /// Previous-text tokens a prompt carries at most (faster-whisper: max_length // 2 - 1).
    static let previousTokens = 223

    func transcribe(_ samples: AudioSamples, options: TranscriptionOptions,
                    onText: ((String) -> Void)?) throws(RuntimeError) -> TranscriptionResult {
        let clock = ContinuousClock()
        let start = clock.now
        let decoding = options.decoding
        if let problem = decoding.problem() { throw .model(.unsupportedOption(problem)) }
        let languageID = try forcedLanguage(options)
        if options.task == .translate, !model.isMultilingual || model.vocabulary.translate == nil {
            throw .model(.unsupportedOption("task 'translate' needs a multilingual Whisper model; this one is English-only"))
        }
        if options.wordTimestamps, model.generation.alignmentHeads.isEmpty {
            throw .model(.unsupportedOption("word timestamps need the model's alignment heads (config.json or "
                                            + "generation_config.json 'alignment_heads'); \(model.directory) lists none"))
        }
        guard samples.count >= mel.hop else { throw .model(.audioTooShort(samples: samples.count)) }
        let slots = decoding.slots
        let state = try storage.state(fits: { $0.slots >= slots }, make: { () throws(ModelError) in
            try model.makeState(slots: slots)
        })
        if search == nil || search!.slots != state.slots {
            search = WhisperSearch(model: model, slots: state.slots, suppressed: suppressed, suppressedAtBegin: suppressedAtBegin)
        }
        let search = search!
        let dims = model.dims, window = dims.windowFrames, bins = mel.bins

        // Features of the whole clip (normalised over the clip): [bins, frames].
        let padded = samples.count + Self.paddingSamples
        let frames = mel.frameCount(samples: padded)
        var layout = ScratchLayout()
        let aOffset = layout.add(padded), fOffset = layout.add(bins * frames), mOffset = layout.add(mel.scratchFloats)
        let wordLayout = options.wordTimestamps ? WhisperWordTiming.Layout(model: model, into: &layout) : nil
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
        var detected: Int?
        var stream = WhisperTextStream(onText: onText)
        var generator = SeededGenerator(seed: decoding.seed)
        var rules = options.timestamps ? WhisperTimestampRules(vocabulary: model.vocabulary, vocabSize: dims.vocabSize) : nil
        rules?.maxInitialTimestamp = Int((decoding.maxInitialTimestamp / 0.02).rounded())
        // Text tokens (and timestamps) of the segments so far, after the initial prompt's; and where
        // the next window's prompt starts.
        var allTokens: [Int] = []
        if !options.context.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            do { allTokens = try model.encodePrompt(options.context) } catch { throw .model(error) }
        }
        var promptResetSince = 0
        // End of the last word so far (word timestamps).
        var lastSpeech = 0.0
        // 30 s windows. The last frame is the padding's, not content.
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
            // Without conditioning the start moves past each window, so only the initial prompt
            // (before the first window) is ever carried.
            let previous = allTokens[promptResetSince...].suffix(Self.previousTokens)
            let outcome = try decodeWindow(state, search: search, language: language, previous: previous,
                                           options: options, rules: rules, generator: &generator, start: start,
                                           result: &result, stream: &stream)
            let offset = Double(seek) / 100, seconds = Double(count) / 100   // 100 mel frames per second
            if outcome.silent {
                seek += count
                continue
            }
            // Without timestamps the window is one segment, whatever ids >= <|notimestamps|> the
            // model put in its text (they are left to it there, and carry no time).
            let split = options.timestamps
                ? WhisperTimestampRules(vocabulary: model.vocabulary, vocabSize: dims.vocabSize)
                    .segments(outcome.tokens, offset: offset, windowSeconds: seconds, windowFrames: count)
                : (segments: [(start: offset, end: offset + seconds, tokens: outcome.tokens[...])], advanceFrames: count)
            var pieces = split.segments.map { WhisperWordTiming.Piece(start: $0.start, end: $0.end, tokens: $0.tokens) }
            var advance = split.advanceFrames
            if let wordLayout {
                let tb = model.vocabulary.timestampBegin, t = outcome.tokens
                let singleEnding = t.count >= 2 && t[t.count - 1] >= tb && t[t.count - 2] < tb
                let code = model.vocabulary.languages.first { $0.value == (language ?? -1) }?.key ?? "en"
                var startSequence = [model.vocabulary.startOfTranscript]
                if model.isMultilingual, let language {
                    startSequence += [language, (options.task == .translate ? model.vocabulary.translate : model.vocabulary.transcribe)
                                        ?? model.vocabulary.noTimestamps]
                }
                try WhisperWordTiming(model: model).addWords(&pieces, startSequence: startSequence, frames: count, offset: offset,
                                                            lastSpeech: lastSpeech, language: code, state: state,
                                                            base: base, layout: wordLayout)
                // faster-whisper's `get_end`: the last word's end, else the last segment's.
                let end = pieces.reversed().lazy.compactMap { $0.words.last?.end }.first ?? pieces.last?.end
                if !singleEnding, options.timestamps, let end, end > offset {
                    advance = Int((end * 100).rounded(.toNearestOrEven)) - seek
                }
                if let end { lastSpeech = end }
            }
            for piece in pieces {
                let raw: String = model.vocabulary.decode(piece.tokens)
                let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
                guard piece.start != piece.end, !trimmed.isEmpty else { continue }
                allTokens += piece.tokens
                result.segments.append(TranscriptSegment(
                    start: piece.start, end: piece.end, text: trimmed, tokenIDs: Array(piece.tokens),
                    avgLogprob: outcome.averageLogProb.isFinite ? outcome.averageLogProb : -.greatestFiniteMagnitude,
                    noSpeechProb: Double(outcome.noSpeech),
                    temperature: outcome.temperature, compressionRatio: outcome.compressionRatio,
                    words: wordLayout == nil ? nil : piece.words))
            }
            if !decoding.conditionOnPreviousText || outcome.temperature > decoding.promptResetOnTemperature {
                promptResetSince = allTokens.count
            }
            seek += options.timestamps ? max(1, min(advance, count)) : count
        }
        stream.finish()
        // Segments' texts, trimmed, one space between (faster-whisper's segment texts lead with theirs).
        result.text = result.segments.map(\.text).joined(separator: " ")
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

    /// What decoding one window gave.
    struct WindowOutcome {
        var tokens: [Int]
        /// Judged silent by faster-whisper's rule: contributes no text or segments.
        var silent: Bool
        var averageLogProb: Double
        var noSpeech: Float
        var temperature: Double
        var compressionRatio: Double
    }

    /// The prompt, then faster-whisper's `generate_with_fallback`: each temperature in turn until
    /// the text is neither too repetitive nor too unlikely (or the window is silence); if none
    /// passes, the likeliest of those under the compression threshold (or of all).
    private func decodeWindow(_ state: WhisperState, search: WhisperSearch, language: Int?, previous: ArraySlice<Int>,
                              options: TranscriptionOptions, rules: WhisperTimestampRules?,
                              generator: inout SeededGenerator, start: ContinuousClock.Instant,
                              result: inout TranscriptionResult, stream: inout WhisperTextStream) throws(RuntimeError) -> WindowOutcome {
        let clock = ContinuousClock()
        let v = model.vocabulary
        let decoding = options.decoding
        var prompt: [Int] = []
        if !previous.isEmpty, let startOfPrevious = v.id(of: "<|startofprev|>") { prompt = [startOfPrevious] + previous }
        let sotIndex = prompt.count
        prompt.append(v.startOfTranscript)
        if model.isMultilingual, let language {
            let task = options.task == .translate ? v.translate : v.transcribe
            prompt += [language, task ?? v.noTimestamps]
        }
        if !options.timestamps { prompt.append(v.noTimestamps) }
        state.reset()
        let prefillStart = clock.now
        // Up to start-of-transcript first: the no-speech probability is read at its position.
        var noSpeech: Float = 0
        do {
            try model.decode(Array(prompt[...sotIndex]), state: state)
            if let id = v.noSpeech {
                let logits = state.logitsPointer
                noSpeech = Foundation.exp(logits[id] - Kernels.logSumExp(logits, count: model.dims.vocabSize))
            }
            try model.decode(Array(prompt[(sotIndex + 1)...]), state: state)
        } catch {
            throw .model(error)
        }
        result.timings.prefillMs += (clock.now - prefillStart).milliseconds
        result.promptTokens += prompt.count
        let noSpeechThreshold = decoding.noSpeechThreshold.map { Float($0) }
        // Argmax with no fallback streams token by token (a window that may be judged silent is
        // held back until it is not); any other search's text is known when the window is done.
        let streaming = decoding.beamSize == 1 && decoding.temperatures.allSatisfy { $0 <= 0 }
        if streaming, let noSpeechThreshold, noSpeech > noSpeechThreshold { stream.hold() }
        var firstToken = true
        var window = WhisperSearch.Window(
            state: state, maxLength: min(options.maxNewTokens, model.dims.textContext / 2,
                                         model.dims.textContext - prompt.count + 1),
            rules: rules, cancel: cancel)
        window.ignoreEOS = options.ignoreEOS
        if streaming { window.loopGuardRepeats = options.loopGuardRepeats }
        let decodeStart = clock.now
        var outcomes: [WindowOutcome] = []
        var chosen: WindowOutcome?
        for (attempt, temperature) in decoding.temperatures.enumerated() {
            if attempt > 0 {
                // Back to the prompt: its cached rows are intact in slot 0; its last token again
                // gives the first step's logits.
                state.rewind(to: prompt.count - 1)
                do { try model.decode([prompt[prompt.count - 1]], state: state) } catch { throw .model(error) }
            }
            let hypothesis: WhisperHypothesis
            if temperature > 0 {
                hypothesis = try search.sample(window, candidates: decoding.bestOf, temperature: temperature,
                                               lengthPenalty: decoding.lengthPenalty, generator: &generator)
            } else if decoding.beamSize > 1 {
                hypothesis = try search.beamSearch(window, beamSize: decoding.beamSize, patience: decoding.patience,
                                                   lengthPenalty: decoding.lengthPenalty)
            } else {
                hypothesis = try search.sample(window, candidates: 1, temperature: 0, lengthPenalty: decoding.lengthPenalty,
                                               generator: &generator) { id in
                    guard streaming else { return }
                    if firstToken {
                        firstToken = false
                        if result.timings.ttftMs == 0 { result.timings.ttftMs = (clock.now - start).milliseconds }
                    }
                    stream.push(id, vocabulary: v)
                }
            }
            let average = hypothesis.averageLogProb
            let ratio = CompressionRatio.of(v.decode(hypothesis.tokens).trimmingCharacters(in: .whitespacesAndNewlines))
            let outcome = WindowOutcome(tokens: hypothesis.tokens, silent: false, averageLogProb: average,
                                        noSpeech: noSpeech, temperature: temperature, compressionRatio: ratio)
            outcomes.append(outcome)
            var fallback = false
            if let threshold = decoding.compressionRatioThreshold, ratio > threshold { fallback = true }
            if let threshold = decoding.logProbThreshold, average < threshold { fallback = true }
            if let noSpeechThreshold, let threshold = decoding.logProbThreshold,
               noSpeech > noSpeechThreshold, average < threshold {
                fallback = false   // silence: the no-speech rule below decides
            }
            if !fallback { chosen = outcome; break }
        }
        if chosen == nil {
            // Every temperature failed: the likeliest under the compression threshold, or of all;
            // reported at the last temperature (faster-whisper does, for the prompt reset).
            let threshold = decoding.compressionRatioThreshold ?? .infinity
            let pool = outcomes.contains { $0.compressionRatio <= threshold } ? outcomes.filter { $0.compressionRatio <= threshold } : outcomes
            var best = pool[0]
            for o in pool.dropFirst() where o.averageLogProb > best.averageLogProb { best = o }
            best.temperature = decoding.temperatures.last ?? 0
            chosen = best
        }
        var outcome = chosen!
        result.timings.decodeMs += (clock.now - decodeStart).milliseconds
        if result.timings.ttftMs == 0 { result.timings.ttftMs = (clock.now - start).milliseconds }
        // faster-whisper's silence rule: likely no speech, and not confidently decoded.
        if let noSpeechThreshold, noSpeech > noSpeechThreshold {
            outcome.silent = !(decoding.logProbThreshold.map { outcome.averageLogProb > $0 } ?? false)
        }
        result.tokenIDs += outcome.tokens
        if !streaming, !outcome.silent { for id in outcome.tokens { stream.push(id, vocabulary: v) } }
        stream.endWindow(discard: outcome.silent)
        return outcome
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
