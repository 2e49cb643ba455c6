import EarshotAudio
import EarshotModels
import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotRuntime

/// The decoding pipeline on the synthetic model: hypotheses decoded side by side equal the same
/// tokens decoded one sequence at a time; beam search and sampling obey the timestamp grammar and
/// the suppression lists; a seed fixes sampled output; bad options are typed errors.
@Suite(.serialized) struct WhisperSearchTests {
    typealias Synthetic = SyntheticWhisper

    /// Rows in slots that were forked from one prompt (copied caches) give, token for token, the
    /// logits of decoding each sequence alone.
    @Test func batchedStepEqualsSequentialDecoding() throws {
        let m = try WhisperModel(directory: WhisperSynthetic.ct2(.float32))
        defer { m.close() }
        let prompt = ["<|startoftranscript|>", "<|notimestamps|>"].map(Synthetic.id)
        let steps: [[Int]] = [[10, 20, 30], [11, 11, 31], [12, 40, 5]]   // per step, the token of slots 0, 1, 2
        let batched = try m.makeState(slots: 3)
        defer { batched.close() }
        #expect(batched.slots == 3)
        batched.melPointer.update(repeating: 0.25, count: 80 * 3000)
        m.encode(batched)
        try m.decode(prompt, state: batched)
        batched.copySlot(0, to: 1)
        batched.copySlot(0, to: 2)
        var rows: [[Float]] = []
        for step in steps {
            try step.withUnsafeBufferPointer { t in
                try [0, 1, 2].withUnsafeBufferPointer { s in try m.decodeStep(t, slots: s, state: batched) }
            }
        }
        for r in 0..<3 { rows.append(Array(UnsafeBufferPointer(start: batched.logits(row: r), count: Synthetic.vocabSize))) }

        let single = try m.makeState()
        defer { single.close() }
        single.melPointer.update(repeating: 0.25, count: 80 * 3000)
        m.encode(single)
        for slot in 0..<3 {
            single.reset()
            try m.decode(prompt + steps.map { $0[slot] }, state: single)
            let alone = Array(UnsafeBufferPointer(start: single.logitsPointer, count: Synthetic.vocabSize))
            let worst = zip(alone, rows[slot]).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-3, "slot \(slot): max |difference| \(worst)")
        }
        // A bad row is refused before anything is written.
        #expect(throws: ModelError.self) {
            try [1, 2].withUnsafeBufferPointer { t in
                try [0, 3].withUnsafeBufferPointer { s in try m.decodeStep(t, slots: s, state: batched) }
            }
        }
    }

    func session() throws -> (WhisperModel, Session) {
        let m = try WhisperModel(directory: WhisperSynthetic.ct2(.float32))
        return (m, try Session(model: m))
    }

    /// Every window's tokens under the timestamp rules: a timestamp first (at most 1 s in), then
    /// pairs, never going back; segments inside the audio and in order; suppressed ids never appear.
    func checkGrammar(_ r: TranscriptionResult, model m: WhisperModel) {
        let tb = m.vocabulary.timestampBegin
        let never = Set(m.generation.suppressTokens)
        #expect(r.tokenIDs.allSatisfy { !never.contains($0) && $0 != m.vocabulary.startOfTranscript })
        var previousEnd = 0.0
        for s in r.segments {
            #expect(s.start >= previousEnd - 1e-9 && s.start <= s.end && s.end <= r.audioSeconds + 30)
            previousEnd = s.end
            #expect(s.tokenIDs.first.map { $0 >= tb } ?? false)
            let stamps = s.tokenIDs.filter { $0 >= tb }
            #expect(stamps == stamps.sorted())
        }
    }

    @Test func beamSearchFollowsTheTimestampGrammarAndRepeats() throws {
        let (m, t) = try session()
        defer { t.close(); m.close() }
        var options = TranscriptionOptions(maxNewTokens: 32)
        options.decoding.temperatures = [0]                  // beam search only
        let a = try t.transcribe(WhisperSynthetic.h01, options: options)
        let b = try t.transcribe(WhisperSynthetic.h01, options: options)
        print("synthetic beam 5: \(a.tokenIDs.count) tokens, \(a.segments.count) segments")
        #expect(a.tokenIDs == b.tokenIDs && a.segments == b.segments)
        #expect(a.promptTokens == 1)                         // <|startoftranscript|> (English-only, timestamps)
        checkGrammar(a, model: m)
        // The state grew to five slots once and is reused.
        let bytes = t.mappedBytes
        _ = try t.transcribe(WhisperSynthetic.h01, options: options)
        #expect(t.mappedBytes == bytes)
    }

    @Test func aSeedFixesSampledOutput() throws {
        let (m, t) = try session()
        defer { t.close(); m.close() }
        var options = TranscriptionOptions(maxNewTokens: 24)
        options.decoding.temperatures = [1.0]
        options.decoding.bestOf = 3
        options.decoding.seed = 42
        let a = try t.transcribe(WhisperSynthetic.h01, options: options)
        let b = try t.transcribe(WhisperSynthetic.h01, options: options)
        #expect(a.tokenIDs == b.tokenIDs)
        #expect(a.segments.allSatisfy { $0.temperature == 1.0 })
        checkGrammar(a, model: m)
        // Other seeds: still valid output; over a few seeds the draws are not all the same.
        var seen = Set<[Int]>()
        for seed in 1...4 {
            options.decoding.seed = UInt64(seed)
            let r = try t.transcribe(WhisperSynthetic.h01, options: options)
            checkGrammar(r, model: m)
            seen.insert(r.tokenIDs)
        }
        #expect(seen.count > 1)
    }

    /// Greedy (`WhisperDecodingOptions.greedy`, no timestamps) decodes behind <|notimestamps|>: one
    /// segment per window, spanning it.
    @Test func greedyDecodesBehindNoTimestamps() throws {
        let (m, t) = try session()
        defer { t.close(); m.close() }
        let r = try t.transcribe(WhisperSynthetic.h01, options: .init(maxNewTokens: 12, loopGuardRepeats: 0,
                                                                      timestamps: false, decoding: .greedy))
        #expect(r.promptTokens == 2 && !r.tokenIDs.isEmpty)
        #expect(r.segments.count <= 1)
        if let s = r.segments.first { #expect(s.start == 0 && abs(s.end - r.audioSeconds) < 0.02) }
    }

    @Test func badDecodingOptionsAreTypedErrorsAndTheSessionStillWorks() throws {
        let (m, t) = try session()
        defer { t.close(); m.close() }
        for (change, word) in [({ (o: inout WhisperDecodingOptions) in o.beamSize = 0 }, "beam size"),
                               ({ $0.bestOf = 99 }, "best-of"), ({ $0.temperatures = [] }, "temperatures"),
                               ({ $0.temperatures = [3] }, "temperatures"), ({ $0.patience = 0 }, "patience")] {
            var options = TranscriptionOptions(maxNewTokens: 4)
            change(&options.decoding)
            do {
                _ = try t.transcribe(WhisperSynthetic.h01, options: options)
                Issue.record("accepted \(options.decoding)")
            } catch {
                guard case .model(.unsupportedOption(let message)) = error else { Issue.record("\(error)"); continue }
                #expect(message.contains(word), "\(message)")
            }
        }
        let r = try t.transcribe(WhisperSynthetic.h01, options: .init(maxNewTokens: 4))
        #expect(r.audioTokens == 1500)
    }

    @Test func translateOnAnEnglishOnlyModelIsAnError() throws {
        let (m, t) = try session()
        defer { t.close(); m.close() }
        var options = TranscriptionOptions(maxNewTokens: 4)
        options.task = .translate
        do {
            _ = try t.transcribe(WhisperSynthetic.h01, options: options)
            Issue.record("translate accepted by an English-only model")
        } catch {
            guard case .model(.unsupportedOption(let message)) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("translate") && message.contains("English-only"))
        }
    }
}
