import EarshotAudio
import EarshotBench
import EarshotModels
import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotRuntime

/// The flat-memory promise for the Whisper family: loading and closing a CTranslate2 model
/// hundreds of times (transcribing now and then) keeps descriptors and anonymous memory flat.
/// Like `FlatMemoryTests`, it reads process-wide counters, so it needs `--no-parallel`.
@Suite(.serialized, .disabled(if: Sanitizer.isActive, "measures RSS, which a sanitizer's shadow memory and quarantine distort"))
struct WhisperFlatMemoryTests {
    @Test func twoHundredLoadsAndClosesKeepDescriptorsAndMemoryFlat() async throws {
        let manager = ModelManager(configuration: .init(trimAfterUnload: true))
        try await manager.register("w", directory: WhisperSynthetic.ct2(.float32))
        let audio = WhisperSynthetic.h01
        let options = TranscriptionOptions(maxNewTokens: 8)
        let mappedBefore = MemoryCounters.anonymousBytes + MemoryCounters.fileBytes
        let buffersBefore = MemoryCounters.liveBuffers
        let start = MemoryReport.current()
        // Filled before the first measurement (appending would grow the test's own heap).
        var after = [MemoryReport](repeating: MemoryReport(), count: 200)
        var transcripts: [[Int]] = []
        transcripts.reserveCapacity(10)
        for i in 0..<200 {
            let loaded = try await manager.load("w")
            #expect(loaded.mappedBytes > 0)
            if i % 20 == 0 {
                transcripts.append(try await manager.transcribe(audio, model: "w", options: options).tokenIDs)
            }
            try await manager.unload("w")
            after[i] = MemoryReport.current()
        }
        #expect(transcripts.count == 10 && Set(transcripts).count == 1, "the model decodes the same every time")
        // Everything mapped is unmapped, and no load keeps a descriptor.
        #expect(MemoryCounters.anonymousBytes + MemoryCounters.fileBytes == mappedBefore)
        #expect(MemoryCounters.liveBuffers == buffersBefore)
        #expect(after.allSatisfy { $0.openFileDescriptors == start.openFileDescriptors },
                "descriptors: \(start.openFileDescriptors) -> \(Set(after.map(\.openFileDescriptors)).sorted())")
        // The thresholds of FlatMemoryTests: a leaked model (2 MB of f32 weights here) or
        // session (6 MB) would cost megabytes per load.
        let anon = after.map { Double($0.rssAnonBytes) }
        let slope = Trend.slopeAfterWarmUp(anon)
        let growth = anon.last! - anon[anon.count / 5]
        print("whisper 200 loads: RssAnon slope \(slope) B/load, growth after warm-up \(growth) B")
        #expect(slope < 2048, "RssAnon grows \(slope) bytes per load")
        #expect(growth < Double(1 << 20), "RssAnon grew \(growth) bytes after warm-up")
    }

    /// Transcriptions through the whole pipeline, on one loaded model: beam search, best-of-5
    /// sampling, word timestamps, in turn. The session's slots, search buffers and word alignment
    /// buffers are made once; anonymous memory stays flat. 240 here (~0.15 s each in scripts/test's
    /// build): at 60, 20 pages of allocator noise after warm-up read as 2.4 KB per transcription;
    /// a real per-transcription leak of 2 KB still costs 400 KB over 200 transcriptions.
    @Test func pipelineTranscriptionsKeepMemoryFlat() async throws {
        let manager = ModelManager(configuration: .init(trimAfterUnload: true))
        try await manager.register("w", directory: WhisperSynthetic.ct2(.float32))
        _ = try await manager.load("w")
        let audio = WhisperSynthetic.h01
        var beams = TranscriptionOptions(maxNewTokens: 8)
        beams.decoding.temperatures = [0]
        var sampled = TranscriptionOptions(maxNewTokens: 8)
        sampled.decoding.temperatures = [1]
        var words = TranscriptionOptions(maxNewTokens: 8)
        words.wordTimestamps = true
        let kinds = [beams, sampled, words]
        var after = [MemoryReport](repeating: MemoryReport(), count: 240)
        var first: [[Int]] = [[], [], []]
        let start = MemoryReport.current()
        for i in 0..<240 {
            let r = try await manager.transcribe(audio, model: "w", options: kinds[i % 3])
            if i < 3 { first[i] = r.tokenIDs } else { #expect(r.tokenIDs == first[i % 3]) }
            after[i] = MemoryReport.current()
        }
        try await manager.unload("w")
        #expect(after.allSatisfy { $0.openFileDescriptors == start.openFileDescriptors })
        let anon = after.map { Double($0.rssAnonBytes) }
        let slope = Trend.slopeAfterWarmUp(anon)
        let growth = anon.last! - anon[anon.count / 5]
        print("whisper 240 pipeline transcriptions: RssAnon slope \(slope) B/transcription, growth after warm-up \(growth) B")
        #expect(slope < 2048, "RssAnon grows \(slope) bytes per transcription")
        #expect(growth < Double(1 << 20), "RssAnon grew \(growth) bytes after warm-up")
    }
}
