import EarshotAudio
import EarshotModels
import EarshotTensor
import EarshotTokenizer
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotRuntime

/// The whole pipeline from a WAV file, on the tiny checkpoint, against the official goldens.
@Suite(.serialized) struct SessionTests {
    static let model: Qwen3ASRModel = try! Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path)

    @Test(arguments: ["fox", "short"])
    func wavToTokensMatchesTheOfficialGreedyOutput(_ id: String) throws {
        let golden = try SafeTensorsFile(path: Fixtures.qwenTinyGolden(id).path)
        let greedy = (try golden.tensor("greedy_ids")).intArray()
        let t = try Session(model: Self.model)
        defer { t.close() }
        var streamed = ""
        let r = try t.transcribe(path: Fixtures.qwenTinyAudio(id).path,
                                 options: .init(maxNewTokens: greedy.count, loopGuardRepeats: 0),
                                 onText: { streamed += $0 })
        #expect(r.tokenIDs == greedy)
        #expect(r.audioTokens == (try golden.tensor("audio_embeds")).shape[0])
        #expect(abs(r.audioSeconds - Double((try golden.tensor("audio")).elementCount) / 16000) < 1e-9)
        #expect(r.timings.ttftMs > 0 && r.timings.encodeMs > 0 && r.timings.rtf > 0)
        // The random model never writes `<asr_text>`: the parse has no language, the whole output
        // is transcript, and the stream delivers exactly that text when the decode ends.
        #expect(r.language == "")
        #expect(!r.text.isEmpty)
        #expect(streamed == r.text)
    }

    @Test func forcedLanguageStreamsEveryTokenAndMatchesGolden() throws {
        let golden = try SafeTensorsFile(path: Fixtures.qwenTinyGolden("fox_lang").path)
        let greedy = (try golden.tensor("greedy_ids")).intArray()
        let t = try Session(model: Self.model)
        var streamed = ""
        let r = try t.transcribe(path: Fixtures.qwenTinyAudio("fox").path,
                                 options: .init(language: "english", maxNewTokens: greedy.count, loopGuardRepeats: 0),
                                 onText: { streamed += $0 })
        #expect(r.tokenIDs == greedy)
        #expect(r.language == "English")
        #expect(streamed == Self.model.tokenizer.decode(greedy, skipSpecial: true))
        #expect(r.text == Qwen3ASROutput.fixRepetitions(streamed.trimmingCharacters(in: .whitespacesAndNewlines), threshold: 20))
    }

    @Test func sessionIsReusedAcrossRequestsWithoutGrowth() throws {
        let t = try Session(model: Self.model)
        defer { t.close() }
        let opts = TranscriptionOptions(maxNewTokens: 4, loopGuardRepeats: 0)
        let first = try t.transcribe(path: Fixtures.qwenTinyAudio("short").path, options: opts)
        let mapped = t.mappedBytes
        let anon = MemoryCounters.anonymousBytes
        for _ in 0..<5 {
            let again = try t.transcribe(path: Fixtures.qwenTinyAudio("short").path, options: opts)
            #expect(again.tokenIDs == first.tokenIDs)
        }
        #expect(t.mappedBytes == mapped)
        #expect(MemoryCounters.anonymousBytes == anon)
    }

    @Test func badRequestsAreTypedErrorsAndTheSessionSurvives() throws {
        let t = try Session(model: Self.model)
        defer { t.close() }
        #expect(throws: RuntimeError.self) {
            _ = try t.transcribe(path: Fixtures.qwenTinyAudio("fox").path, options: .init(language: "Klingon"))
        }
        #expect(throws: RuntimeError.self) { _ = try t.transcribe(path: "/nonexistent.wav") }
        let tiny = try AudioSamples([Float](repeating: 0.1, count: 100), sampleRate: 16000)
        #expect(throws: RuntimeError.self) { _ = try t.transcribe(tiny) }
        let ok = try t.transcribe(path: Fixtures.qwenTinyAudio("short").path, options: .init(maxNewTokens: 2))
        #expect(ok.tokenIDs.count == 2)
    }

    @Test func longAudioIsSplitAtTheQuietestPoint() {
        // 30 s of noise at 10 Hz "rate", a silent dip at 12.3 s; max pass 10 s, search ±5 s.
        let rate = 100
        var x = [Float](repeating: 0.5, count: 30 * rate)
        for i in 1225..<1235 { x[i] = 0 }
        let pieces = x.withUnsafeBufferPointer { LongAudio.pieces($0, sampleRate: rate, maxSeconds: 10) }
        #expect(pieces.first?.lowerBound == 0 && pieces.last?.upperBound == x.count)
        #expect(zip(pieces, pieces.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect(pieces.count >= 3)
        #expect(pieces[0].upperBound >= 1225 && pieces[0].upperBound <= 1235)
        #expect(LongAudio.mergeLanguages(["English", "English", "", "Chinese", "English"]) == "English,Chinese,English")
    }

    @Test func loopGuardStopsRunawayRepetition() {
        let g = LoopGuard(repeats: 4)
        #expect(g.shouldStop(after: [1, 2, 3, 2, 3, 2, 3, 2, 3]))
        #expect(!g.shouldStop(after: [1, 2, 3, 2, 3, 2, 3]))
        #expect(g.shouldStop(after: [9, 9, 9, 9]))
        #expect(!LoopGuard(repeats: 0).shouldStop(after: [9, 9, 9, 9, 9]))
    }
}
