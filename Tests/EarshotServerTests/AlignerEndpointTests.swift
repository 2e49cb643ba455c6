import EarshotAudio
import EarshotModels
import EarshotRuntime
import EarshotServer
import EarshotTestSupport
import Foundation
import NIOCore
import Testing

/// Qwen3-ASR over HTTP with `--aligner`: `timestamp_granularities[]` and the timed formats carry
/// the words and segments of `ModelManager.transcribe(_:model:options:aligner:)`; without an
/// aligner the same request keeps one segment per clip; the aligner is not a transcription model.
@Suite(.serialized) struct AlignerEndpointTests {
    /// `own`: the aligner is the model's own (`ModelSpec.aligner`) instead of the server-wide one.
    func start(aligner: Bool = true, own: Bool = false) async throws -> RunningServer {
        try await RunningServer.start {
            // The harness registers the tiny Qwen3-ASR fixture as "tiny".
            if aligner && own { $0.models[0].aligner = "aligner=" + Fixtures.alignerTinyModel.path }
            if aligner && !own { $0.aligner = .init(name: "aligner", path: Fixtures.alignerTinyModel.path) }
            $0.maxTokens = 16
        }
    }

    @Test(arguments: [false, true]) func timedFormatsCarryTheAlignersWords(own: Bool) async throws {
        let server = try await start(own: own)
        let samples = try AudioDecoder.load(path: Fixtures.qwenTinyAudio("fox").path)
        let expected = try await server.service.manager.transcribe(samples, model: "tiny", options: TranscriptionOptions(maxNewTokens: 16),
                                                                   aligner: "aligner")
        let words = expected.segments.flatMap { $0.words ?? [] }
        #expect(!words.isEmpty)

        var form = try MultipartBody.audio("fox", model: "tiny", fields: ["response_format": "verbose_json"])
        form.append(field: "timestamp_granularities[]", "word")
        form.append(field: "timestamp_granularities[]", "segment")
        let reply = try await server.transcribe(form)
        #expect(reply.status == 200, "\(reply.body)")
        let got = reply.json["words"] as? [[String: Any]] ?? []
        #expect(got.map { $0["word"] as? String } == words.map { $0.word.trimmingCharacters(in: .whitespaces) })
        #expect((reply.json["segments"] as? [[String: Any]])?.map { $0["text"] as? String } == expected.segments.map(\.text))

        let srt = try await server.transcribe(try MultipartBody.audio("fox", model: "tiny", fields: ["response_format": "srt"]))
        #expect(srt.status == 200 && srt.body.contains("-->"))
        #expect(try await server.status("aligner").state == .ready)

        // The aligner answers no transcription requests of its own.
        let refused = try await server.transcribe(try MultipartBody.audio("fox", model: "aligner"), headers: ["connection": "close"])
        #expect(refused.status == 404)
        try await server.stop()
    }

    @Test func withoutAnAlignerQwenKeepsOneSegmentAndRefusesWords() async throws {
        let server = try await start(aligner: false)
        let plain = try await server.transcribe(try MultipartBody.audio("fox", model: "tiny", fields: ["response_format": "verbose_json"]))
        #expect(plain.status == 200 && (plain.json["segments"] as? [Any])?.count == 1)
        var form = try MultipartBody.audio("fox", model: "tiny", fields: ["response_format": "verbose_json"])
        form.append(field: "timestamp_granularities[]", "word")
        let words = try await server.transcribe(form, headers: ["connection": "close"])
        #expect(words.status == 400, "\(words.body)")
        try await server.stop()
    }
}
