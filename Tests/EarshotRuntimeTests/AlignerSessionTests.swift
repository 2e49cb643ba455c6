import EarshotAudio
import EarshotBench
import EarshotModels
import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotRuntime

/// The forced aligner end to end (WAV -> features -> encoder -> one pass -> repair -> words) against
/// the official `Qwen3ForcedAligner.align()` items, its answers to bad input, and its memory.
@Suite(.serialized, .disabled(if: Sanitizer.isActive, "measures RSS, which a sanitizer's shadow memory and quarantine distort"))
struct AlignerSessionTests {
    typealias Item = AlignerGolden.Item

    static func withSession<R>(_ body: (AlignerSession) throws -> R) throws -> R {
        let model = try Qwen3ForcedAlignerModel(directory: Fixtures.alignerTinyModel.path)
        defer { model.close() }
        let session = try AlignerSession(model: model)
        defer { session.close() }
        return try body(session)
    }

    /// Every case's words and times equal the official `align()` output, from the WAV file.
    @Test func itemsFromAudioFilesMatchTheOfficialAligner() throws {
        try Self.withSession { session in
            for id in Fixtures.alignerCases {
                let g = try AlignerGolden.load(id)
                let path = Fixtures.alignerTiny.appendingPathComponent(g.audio).path
                let r = try session.align(path: path, text: g.text, language: g.language)
                let items = r.words.map { Item(text: $0.text, start_time: $0.start, end_time: $0.end) }
                #expect(items == g.items, "\(id)")
                #expect(r.words.isEmpty == (r.promptTokens == 0), "\(id): the model runs only for words")
            }
        }
    }

    /// Bad input is a typed error naming the problem (or, for no words, an empty answer) and the
    /// session keeps working after each.
    @Test func badInputIsRefusedByName() throws {
        try Self.withSession { session in
            let fox = Fixtures.alignerTiny.appendingPathComponent("audio/fox.wav").path
            let clip = try AudioDecoder.load(path: fox)
            #expect(try session.align(clip, text: "", language: "English").words == [])
            #expect(try session.align(clip, text: "... !!! ?", language: nil).words == [])

            func message(_ body: () throws -> AlignmentResult) -> String {
                do { _ = try body(); return "no error" } catch { return "\(error)" }
            }
            #expect(message { try session.align(clip, text: "こんにちは", language: "Japanese") }.contains("nagisa"))
            #expect(message { try session.align(clip, text: "안녕", language: "korean") }.contains("soynlp"))
            let tooShort = try AudioSamples([Float](repeating: 0, count: 100), sampleRate: 16_000)
            #expect(message { try session.align(tooShort, text: "hello", language: "English") }.contains("too short"))
            // 4.46 s holds at most 20 + 50 x 4.46 = 242 words: ten times a real transcript is refused.
            let flood = Array(repeating: "word", count: 1000).joined(separator: " ")
            #expect(message { try session.align(clip, text: flood, language: "English") }
                .contains("1000 words for 4.459125 s of audio (at most 242)"))
            // Past the head's 5000 x 80 ms = 400 s, no class could name the time.
            let long = try AudioSamples([Float](repeating: 0, count: 401 * 16_000), sampleRate: 16_000)
            #expect(message { try session.align(long, text: "hello", language: "English") }.contains("end at 400.0 s"))
            #expect(message { try session.align(clip, text: "hi", language: String(repeating: "x", count: 100)) }
                .contains("at most 64 characters"))
            // Still aligned as before.
            let again = try session.align(clip, text: "The quick brown fox jumps over the lazy dog.", language: "English")
            #expect(again.words.map(\.text) == ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"])
        }
    }

    /// Loading, aligning and closing the aligner 100 times, then 200 alignments on one session:
    /// descriptors constant, everything mapped unmapped, anonymous memory flat.
    @Test func loadsAndAlignmentsKeepMemoryFlat() throws {
        let fox = try AudioDecoder.load(path: Fixtures.alignerTiny.appendingPathComponent("audio/fox.wav").path)
        let text = "The quick brown fox jumps over the lazy dog."
        let mappedBefore = MemoryCounters.anonymousBytes + MemoryCounters.fileBytes
        let start = MemoryReport.current()
        var afterLoads = [MemoryReport](repeating: MemoryReport(), count: 100)
        var first: [AlignedWord] = []
        for i in 0..<100 {
            let words = try Self.withSession { try $0.align(fox, text: text, language: "English").words }
            if i == 0 { first = words } else { #expect(words == first) }
            afterLoads[i] = MemoryReport.current()
        }
        #expect(MemoryCounters.anonymousBytes + MemoryCounters.fileBytes == mappedBefore)
        #expect(afterLoads.allSatisfy { $0.openFileDescriptors == start.openFileDescriptors })
        let anon = afterLoads.map { Double($0.rssAnonBytes) }
        let slope = Trend.slopeAfterWarmUp(anon)
        print("aligner 100 loads: RssAnon slope \(slope) B/load, growth after warm-up \(anon.last! - anon[anon.count / 5]) B")
        #expect(slope < 2048, "RssAnon grows \(slope) bytes per load")

        var afterAligns = [MemoryReport](repeating: MemoryReport(), count: 200)
        try Self.withSession { session in
            for i in 0..<200 {
                let words = try session.align(fox, text: text, language: "English").words
                #expect(words == first)
                afterAligns[i] = MemoryReport.current()
            }
        }
        let anon2 = afterAligns.map { Double($0.rssAnonBytes) }
        let slope2 = Trend.slopeAfterWarmUp(anon2), growth2 = anon2.last! - anon2[anon2.count / 5]
        print("aligner 200 alignments: RssAnon slope \(slope2) B/alignment, growth after warm-up \(growth2) B")
        #expect(slope2 < 1024, "RssAnon grows \(slope2) bytes per alignment")
        #expect(growth2 < Double(512 << 10))
        #expect(MemoryCounters.anonymousBytes + MemoryCounters.fileBytes == mappedBefore)
    }
}
