import EarshotAudio
import EarshotModels
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotRuntime

/// Word timestamps: the numerical steps against hand-worked cases, punctuation merging and word
/// splitting as faster-whisper does them, and the whole path on the synthetic model (words inside
/// their segments, in order, spelling the segment); a model without alignment heads is a typed error.
@Suite(.serialized) struct WhisperWordTimingTests {
    typealias Timing = WhisperWordTiming

    /// A 3 x 4 similarity; cost = -x; a step is diagonal or up only when strictly cheaper, else
    /// left (CTranslate2's order). The path was worked out by hand from that recurrence.
    @Test func dtwFollowsTheCheapestMonotonicPath() {
        let x: [Float] = [5, 1, 0, 0,
                          0, 5, 5, 0,
                          0, 0, 0, 5]
        var cost = [Float](repeating: 0, count: 4 * 5), trace = cost
        let path = x.withUnsafeBufferPointer { Timing.negativeDTW($0.baseAddress!, rows: 3, cols: 4, cost: &cost, trace: &trace) }
        #expect(path.map { [$0.0, $0.1] } == [[0, 0], [0, 1], [1, 1], [1, 2], [2, 2], [2, 3]])
        // One row: every column in order.
        let one: [Float] = [1, 2, 3]
        var c2 = [Float](repeating: 0, count: 2 * 4), t2 = c2
        let line = one.withUnsafeBufferPointer { Timing.negativeDTW($0.baseAddress!, rows: 1, cols: 3, cost: &c2, trace: &t2) }
        #expect(line.map { [$0.0, $0.1] } == [[0, 0], [0, 1], [0, 2]])
    }

    /// Width 7, reflected at the edges (index -1 reads 1, index n reads n - 2).
    @Test func medianFilterReflectsAtTheEdges() {
        // Position 0 sees indices 3,2,1,0,1,2,3 -> [4,3,2,1,2,3,4], median 3; position 9 sees
        // 6,7,8,9,8,7,6 -> [7,8,9,10,9,8,7], median 8.
        var row: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        var scratch = [Float](repeating: 0, count: row.count)
        Timing.medianFilter(&row, count: row.count, scratch: &scratch)
        #expect(row == [3, 3, 3, 4, 5, 6, 7, 8, 8, 8])
        var spike: [Float] = [0, 0, 0, 9, 0, 0, 0, 0]
        Timing.medianFilter(&spike, count: spike.count, scratch: &scratch)
        #expect(spike == [0, 0, 0, 0, 0, 0, 0, 0])          // a one-frame spike is removed
        var short: [Float] = [3, 1, 2]
        Timing.medianFilter(&short, count: 3, scratch: &scratch)
        #expect(short == [3, 1, 2])                       // no longer than half the width: unchanged
    }

    func timed(_ words: [String]) -> [Timing.Timed] {
        words.enumerated().map { Timing.Timed(word: $1, tokens: [$0], start: Double($0), end: Double($0) + 1, probability: 1) }
    }

    @Test func punctuationJoinsItsWord() {
        var a = timed([" \"", "Hello", ",", " world", ".", "\""])
        Timing.mergePunctuations(&a)
        #expect(a.map(\.word) == ["", " \"Hello,", "", " world.\"", "", ""])
        #expect(a[1].tokens == [0, 1, 2] && a[3].tokens == [3, 4, 5])
        var b = timed([" (", " yes", ")"])
        Timing.mergePunctuations(&b)
        #expect(b.map(\.word) == ["", " ( yes)", ""])
    }

    @Test func pythonSubstringSemantics() {
        #expect(Timing.isIn("", "abc") && Timing.isIn(".", Timing.sentenceEndMarks) && !Timing.isIn(" .", Timing.sentenceEndMarks))
        #expect(Timing.isIn("()", Timing.asciiPunctuation) && !Timing.isIn("?!", Timing.asciiPunctuation))
        #expect(Timing.median([]) == 0 && Timing.median([3, 1]) == 2 && Timing.median([5, 1, 4]) == 4)
        #expect(Timing.round2(0.125) == 0.12 && Timing.round2(2.3449) == 2.34)
    }

    @Test func wordsSplitAtSpacesAndPunctuation() throws {
        let m = try WhisperModel(directory: WhisperSynthetic.ct2(.float32))
        defer { m.close() }
        let ids = ["ĠThe", "Ġbirch", "Ġcanoe", "Ġslid", "."].map(SyntheticWhisper.id) + [m.vocabulary.endOfText]
        let (words, tokens) = Timing(model: m).split(ids, language: "en")
        #expect(words == [" The", " birch", " canoe", " slid", ".", ""])
        #expect(tokens.map(\.count) == [1, 1, 1, 1, 1, 1])
        let quoted = [",", "'", "'", "e", "Ġof"].map(SyntheticWhisper.id) + [m.vocabulary.endOfText]
        let (qw, qt) = Timing(model: m).split(quoted, language: "en")
        #expect(qw == [",", "'", "'e", " of", ""] && qt.map(\.count) == [1, 1, 2, 1, 1])
        // Unspaced languages split at whole characters only.
        let (chars, _) = Timing(model: m).split(Array(ids.prefix(2)), language: "ja")
        #expect(chars == [" The", " birch"])
    }

    @Test func syntheticWordsSpellTheirSegments() throws {
        let m = try WhisperModel(directory: WhisperSynthetic.ct2(.float32))
        defer { m.close() }
        let t = try Session(model: m)
        defer { t.close() }
        var options = TranscriptionOptions(maxNewTokens: 24)
        options.wordTimestamps = true
        let r = try t.transcribe(WhisperSynthetic.h01, options: options)
        #expect(!r.segments.isEmpty)
        // Words are pieces of the text, timed inside the audio. (They need not spell their own
        // segment: as in faster-whisper, words are made per window, punctuation joins the word
        // before it across a segment edge, and a segment whose words leave it no length is dropped
        // with them.)
        let decoded = r.segments.map { m.vocabulary.decode($0.tokenIDs) }.joined()
        var count = 0
        for s in r.segments {
            let words = try #require(s.words)
            for w in words {
                #expect(!w.word.isEmpty && decoded.contains(w.word.trimmingCharacters(in: .whitespaces)))
                #expect(w.start <= w.end && w.start >= 0 && w.end <= r.audioSeconds + 30)
                #expect(w.probability >= 0 && w.probability <= 1)
                count += 1
            }
        }
        #expect(count > 0)
        // The same request again: the same words (nothing carried over), the same mapped bytes.
        let bytes = t.mappedBytes
        let again = try t.transcribe(WhisperSynthetic.h01, options: options)
        #expect(again.segments == r.segments)
        #expect(t.mappedBytes == bytes)
        // Without the option: no words in the segments.
        #expect(try t.transcribe(WhisperSynthetic.h01, options: .init(maxNewTokens: 24)).segments.allSatisfy { $0.words == nil })
    }

    @Test func aModelWithoutAlignmentHeadsRefusesWordTimestamps() throws {
        let dir = SyntheticWhisper.scratchDirectory("whisper-no-heads")
        defer { try? FileManager.default.removeItem(at: dir) }
        try SyntheticWhisper().writeCTranslate2(to: dir)
        var config = SyntheticWhisper.ctranslate2Config
        config["alignment_heads"] = nil
        try SyntheticWhisper.writeJSON(config, to: dir.appendingPathComponent("config.json"))
        let m = try WhisperModel(directory: dir.path)
        defer { m.close() }
        #expect(m.generation.alignmentHeads.isEmpty)
        let t = try Session(model: m)
        defer { t.close() }
        var options = TranscriptionOptions(maxNewTokens: 4)
        options.wordTimestamps = true
        do {
            _ = try t.transcribe(WhisperSynthetic.h01, options: options)
            Issue.record("word timestamps without alignment heads were accepted")
        } catch {
            guard case .model(.unsupportedOption(let message)) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("alignment heads"))
        }
        #expect(try t.transcribe(WhisperSynthetic.h01, options: .init(maxNewTokens: 4)).audioTokens == 1500)
    }

    @Test func alignmentHeadsOutsideTheModelAreAConfigError() throws {
        let dir = SyntheticWhisper.scratchDirectory("whisper-bad-heads")
        defer { try? FileManager.default.removeItem(at: dir) }
        try SyntheticWhisper().writeCTranslate2(to: dir)
        for bad in [[[2, 0]], [[0, 2]], [[0]], [[-1, 0]]] as [[[Int]]] {
            var config = SyntheticWhisper.ctranslate2Config
            config["alignment_heads"] = bad
            try SyntheticWhisper.writeJSON(config, to: dir.appendingPathComponent("config.json"))
            #expect(throws: ModelError.self, "\(bad)") { _ = try WhisperModel(directory: dir.path) }
        }
    }
}
