import EarshotAudio
import EarshotModels
import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotRuntime
import EarshotBench

/// Silero VAD v6 and `get_speech_timestamps` against faster-whisper 1.2.1
/// (`Tests/Fixtures/vad/silero-reference.json`, written by `bench/vad-reference.py`).
@Suite(.serialized) struct VoiceActivityTests {
    static let modelPath = Fixtures.root.appendingPathComponent("vad/silero_vad_v6.onnx").path
    static let model: SileroVADModel = try! SileroVADModel(path: modelPath)
    static let reference = try! VADReference.load(Fixtures.root.appendingPathComponent("vad/silero-reference.json").path)
    static let repo = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
    /// Cases a debug build runs in seconds; the 10-minute one runs in release, in `scripts/test`
    /// (`earshot bench vad`).
    static let shortCases = reference.cases.filter { $0.samples <= 120 * 16000 }

    @Test func probabilitiesAndRangesMatchFasterWhisper() throws {
        #expect(Self.shortCases.count >= 14)
        var worst: Float = 0
        for c in Self.shortCases {
            let o = try VADReference.compare(c, model: Self.model, root: Self.repo)
            // The reference is rounded to 6 decimals; onnxruntime sums in another order.
            if let e = o.probabilityError {
                worst = max(worst, e)
                #expect(e < 2e-4, "\(c.name): probabilities differ by up to \(e)")
            }
            #expect(o.agrees, "\(c.name): \(o.ranges) vs \(c.ranges)")
        }
        print("VAD probabilities: largest difference from faster-whisper \(worst)")
    }

    @Test func filterRefusesBadOptions() throws {
        let clip = try AudioSamples([Float](repeating: 0, count: 16000), sampleRate: 16000)
        defer { clip.storage.close() }
        var o = VADOptions()
        o.threshold = 1.5
        #expect(throws: RuntimeError.self) { _ = try VoiceActivityFilter(model: Self.model, options: o).speech(clip) }
        #expect(try VoiceActivityFilter(model: Self.model).speech(clip).isEmpty)
    }

    @Test func timelineMapsJoinedTimesBack() {
        // Speech at 1-2 s and 4-5 s of the clip: joined, 0-1 s and 1-2 s.
        let t = SpeechTimeline(chunks: [16000..<32000, 64000..<80000], sampleRate: 16000)
        #expect(t.originalTime(0.5) == 1.5)
        #expect(t.originalTime(1.25) == 4.25)
        #expect(t.originalTime(1.0, isEnd: true) == 2.0)   // an end on a chunk's end stays in it
        #expect(t.originalTime(1.0) == 4.0)                // a start there belongs to the next
        var segments = [TranscriptSegment(start: 0.2, end: 1.6, text: " a b", tokenIDs: [])]
        segments[0].words = [TranscriptWord(start: 0.2, end: 0.9, word: " a", probability: 1),
                             TranscriptWord(start: 1.1, end: 1.6, word: " b", probability: 1)]
        t.restore(&segments)
        #expect(segments[0].start == 1.2 && segments[0].end == 4.6)
        #expect(segments[0].words!.map(\.start) == [1.2, 4.1])
    }

    @Test func qwenTranscribesEachSpeechChunkAndNothingOfSilence() throws {
        let model = try Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path)
        defer { model.close() }
        let session = try Session(model: model)
        defer { session.close() }
        // fox, 3 s of silence, short: two speech chunks.
        let fox = try AudioDecoder.load(path: Fixtures.qwenTinyAudio("fox").path).array
        let short = try AudioDecoder.load(path: Fixtures.qwenTinyAudio("short").path).array
        let clip = try AudioSamples(fox + [Float](repeating: 0, count: 48000) + short, sampleRate: 16000)
        defer { clip.storage.close() }
        let filter = VoiceActivityFilter(model: Self.model)
        let chunks = try filter.speech(clip)
        #expect(chunks.count == 2, "\(chunks)")
        var options = TranscriptionOptions(maxNewTokens: 8, loopGuardRepeats: 0)
        var expected: [Int] = []
        for c in chunks {
            let piece = try Session.join(clip, [c])
            defer { piece.storage.close() }
            expected += try session.transcribe(piece, options: options).tokenIDs
        }
        options.vad = filter
        let r = try session.transcribe(clip, options: options)
        #expect(r.tokenIDs == expected)
        #expect(abs(r.audioSeconds - clip.duration) < 1e-9)
        #expect(r.timings.vadMs > 0)

        // Silence and faint noise: no pass runs, nothing comes out.
        // A minute of zeros, then a minute of the reference's faint noise.
        let quiet = [Float](repeating: 0, count: 60 * 16000)
            + VADReference.Case.lcgNoise(count: 60 * 16000, amplitude: 0.003, seed: 20261205)
        let silent = try AudioSamples(quiet, sampleRate: 16000)
        defer { silent.storage.close() }
        let none = try session.transcribe(silent, options: options)
        #expect(none.text.isEmpty && none.segments.isEmpty && none.tokenIDs.isEmpty && none.audioTokens == 0)
    }

    @Test func badModelFilesAreTypedErrors() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.modelPath))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-vad-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("vad.onnx").path
        // Cut anywhere: a typed error, never a crash.
        for cut in stride(from: 0, to: bytes.count, by: bytes.count / 40) {
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: path))
            #expect(throws: ModelError.self, "cut at \(cut)") { _ = try SileroVADModel(path: path) }
        }
        // Another ONNX graph (the fuzz seed, a single Conv) is refused naming the node.
        let seed = Self.repo.appendingPathComponent("fuzz/corpus/onnx/conv.onnx").path
        do {
            _ = try SileroVADModel(path: seed)
            Issue.record("a one-Conv graph was accepted")
        } catch {
            guard case .onnx(.unexpectedGraph(_, let node, _)) = error else { Issue.record("\(error)"); return }
            #expect(node == "node 0")
        }
        #expect(throws: ModelError.onnx(.fileNotFound(path: dir.path + "/none.onnx"))) {
            _ = try SileroVADModel(path: dir.path + "/none.onnx")
        }
    }
}
