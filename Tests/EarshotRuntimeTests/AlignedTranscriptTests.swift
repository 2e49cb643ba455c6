import EarshotAudio
import EarshotModels
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotRuntime

/// Aligned words back in the transcript's spelling, segments made of them, and Qwen3-ASR
/// transcription timed by the aligner.
struct AlignedTranscriptTests {
    static func words(_ text: String, times: [(Int, Int)], offset: Double = 0, duration: Double = 100,
                      language: String = "English") throws -> [TranscriptWord] {
        let spans = try AlignerWords.spans(text, language: language)
        let items = zip(spans, times).map { AlignedWord(text: $0.text, startMs: $1.0, endMs: $1.1) }
        return AlignedTranscript.words(text: text, spans: spans, items: items, offset: offset, duration: duration)
    }

    @Test func wordsKeepTheTranscriptsSpelling() throws {
        let text = "\"Hello, world!\"  It's 3:45 -- isn't it?"
        let w = try Self.words(text, times: [(0, 500), (500, 900), (1000, 1200), (1200, 1500), (1600, 1800), (1800, 1900)])
        #expect(w.map(\.word) == ["\"Hello,", " world!\"", "  It's", " 3:45", " -- isn't", " it?"])
        #expect(w.map(\.word).joined() == text)
        let zh = try Self.words("你好，世界。Hi!", times: [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)], language: "Chinese")
        #expect(zh.map(\.word) == ["你", "好，", "世", "界。", "Hi!"])
        // Leading whitespace stays with the first word instead of emptying it.
        let padded = try Self.words("  Well, then", times: [(0, 1), (1, 2)])
        #expect(padded.map(\.word) == ["  Well,", " then"])
    }

    @Test func timesMoveByTheOffsetAndStayInTheirPiece() throws {
        let w = try Self.words("a b c", times: [(100, 200), (300, 9_000), (-1, 50)], offset: 10, duration: 2)
        #expect(w.map(\.start) == [10.1, 10.3, 10])
        #expect(w.map(\.end) == [10.2, 12, 10.05])
    }

    @Test func segmentsEndAtSentencesPausesBreaksAndWidth() throws {
        let text = "One two. Three four five six seven (pause) eight nine."
        let w = try Self.words(text, times: [(0, 100), (100, 200), (300, 400), (400, 500), (500, 600), (600, 700),
                                             (700, 800), (1700, 1800), (1800, 1900), (1900, 2000)])
        let s = AlignedTranscript.segments(w, withWords: true)
        #expect(s.map(\.text) == ["One two.", "Three four five six seven", "(pause) eight nine."])
        #expect(s.map(\.start) == [0, 0.3, 1.7] && s.map(\.end) == [0.2, 0.8, 2.0])
        #expect(s.allSatisfy { $0.words != nil })
        let narrow = AlignedTranscript.segments(w, maxChars: 12, withWords: false)
        #expect(narrow.allSatisfy { $0.text.count <= 12 && $0.words == nil })
        #expect(narrow.map(\.text).joined(separator: " ") == text)
        let broken = AlignedTranscript.segments(w, breaks: [1], withWords: false)
        #expect(broken.first?.text == "One")
    }

    /// The tiny Qwen3-ASR with the tiny aligner: the segments' words give the transcript back,
    /// every time lies in the clip, and Whisper is refused by name.
    @Test func qwen3TranscriptionTimedByTheAligner() throws {
        let asr = try Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path)
        defer { asr.close() }
        let alignerModel = try Qwen3ForcedAlignerModel(directory: Fixtures.alignerTinyModel.path)
        defer { alignerModel.close() }
        let session = try Session(model: asr), aligner = try Session(model: .qwen3ForcedAligner(alignerModel))
        defer { session.close(); aligner.close() }
        let clip = try AudioDecoder.load(path: Fixtures.qwenTinyAudio("long").path)
        let options = TranscriptionOptions(maxNewTokens: 24)
        let r = try session.transcribe(clip, options: options, aligner: aligner)
        let plain = try session.transcribe(clip, options: options)
        #expect(r.text == plain.text && !r.text.isEmpty)
        let words = r.segments.flatMap { $0.words ?? [] }
        #expect(!words.isEmpty)
        #expect(words.map(\.word).joined() == r.text)
        #expect(words.allSatisfy { 0 <= $0.start && $0.start <= $0.end && $0.end <= clip.duration })
        #expect(r.timings.alignMs > 0)
        let segmentsOnly = try session.transcribe(clip, options: options, aligner: aligner, granularity: .segment)
        #expect(segmentsOnly.segments.map(\.text) == r.segments.map(\.text))
        #expect(segmentsOnly.segments.allSatisfy { $0.words == nil })
        // Each session refuses the other's job by name.
        #expect(throws: RuntimeError.self) { _ = try aligner.transcribe(clip) }
        #expect(throws: RuntimeError.self) { _ = try session.align(clip, text: "hello") }
        #expect(throws: RuntimeError.self) { _ = try session.transcribe(clip, options: options, aligner: session) }
    }
}
