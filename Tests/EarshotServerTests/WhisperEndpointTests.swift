import EarshotAudio
import EarshotModels
import EarshotRuntime
import EarshotServer
import EarshotTestSupport
import Foundation
import NIOCore
import Testing

/// Whisper over HTTP on the synthetic model: `timestamp_granularities[]` gives the runtime's words
/// (and segments unless only words were asked for), bad granularities are 400s, and
/// `/v1/audio/translations` refuses models that cannot translate by name.
@Suite(.serialized) struct WhisperEndpointTests {
    static let whisperDirectory: String = {
        let dir = SyntheticWhisper.scratchDirectory("server-whisper")
        try! SyntheticWhisper().writeCTranslate2(to: dir)
        return dir.path
    }()

    func start() async throws -> RunningServer {
        try await RunningServer.start { $0.models.append(.init(name: "whisper", path: Self.whisperDirectory)); $0.maxTokens = 16 }
    }

    func form(_ granularities: [String], format: String = "verbose_json", model: String = "whisper") throws -> MultipartBody {
        var body = try MultipartBody.audio("fox", model: model, fields: ["response_format": format])
        for g in granularities { body.append(field: "timestamp_granularities[]", g) }
        return body
    }

    @Test func wordGranularityGivesTheRuntimeWords() async throws {
        let server = try await start()
        let samples = try AudioDecoder.load(path: Fixtures.qwenTinyAudio("fox").path)
        var options = TranscriptionOptions(maxNewTokens: 16)
        options.wordTimestamps = true
        let expected = try await server.service.manager.transcribe(samples, model: "whisper", options: options)
        let words = expected.segments.flatMap { $0.words ?? [] }
        #expect(!words.isEmpty)

        let both = try await server.transcribe(try form(["word", "segment"]))
        #expect(both.status == 200, "\(both.body)")
        let gotWords = both.json["words"] as? [[String: Any]] ?? []
        #expect(gotWords.map { $0["word"] as? String } == words.map { $0.word.trimmingCharacters(in: .whitespaces) })
        for (g, w) in zip(gotWords, words) {
            #expect(abs((g["start"] as? Double ?? -1) - w.start) < 1e-3 && abs((g["end"] as? Double ?? -1) - w.end) < 1e-3)
        }
        #expect((both.json["segments"] as? [[String: Any]])?.count == expected.segments.count)
        #expect(both.json["text"] as? String == expected.text)

        let wordsOnly = try await server.transcribe(try form(["word"]))
        #expect(wordsOnly.status == 200 && wordsOnly.json["segments"] == nil && (wordsOnly.json["words"] as? [Any])?.count == words.count)
        let plain = try await server.transcribe(try MultipartBody.audio("fox", model: "whisper", fields: ["response_format": "verbose_json"]))
        #expect(plain.status == 200 && plain.json["words"] == nil && plain.json["segments"] != nil)
        try await server.stop()
    }

    /// The server closes a connection after refusing a request; each request here asks for its own.
    static let close = ["connection": "close"]

    @Test func badGranularitiesAndTasksAreRefusedByName() async throws {
        let server = try await start()
        let unknown = try await server.transcribe(try form(["sentence"]), headers: Self.close)
        #expect(unknown.status == 400 && unknown.errorCode == "invalid_timestamp_granularities")
        let notVerbose = try await server.transcribe(try form(["word"], format: "json"), headers: Self.close)
        #expect(notVerbose.status == 400 && notVerbose.errorCode == "invalid_timestamp_granularities")
        let qwenWords = try await server.transcribe(try form(["word"], model: "tiny"), headers: Self.close)
        #expect(qwenWords.status == 400 && qwenWords.errorCode == "unsupported_option")
        // Translations: an English-only Whisper model and Qwen3-ASR cannot translate.
        for model in ["whisper", "tiny"] {
            let body = try MultipartBody.audio("fox", model: model)
            let reply = try await server.post("/v1/audio/translations", headers: ["content-type": body.contentType, "connection": "close"], body: body.buffer)
            #expect(reply.status == 400 && reply.errorCode == "unsupported_option", "\(model): \(reply.body)")
            #expect(reply.errorMessage.contains("translate"))
        }
        // The models still serve.
        #expect(try await server.transcribe(try MultipartBody.audio("fox", model: "whisper"), headers: Self.close).status == 200)
        try await server.stop()
    }

    /// `vad=true` runs Silero VAD first (the server's configured model): the segments move to the
    /// original timeline, as the runtime's own VAD path gives them; other values are 400s.
    @Test func vadFieldFiltersSpeech() async throws {
        let vadPath = Fixtures.root.appendingPathComponent("vad/silero_vad_v6.onnx").path
        let server = try await RunningServer.start {
            $0.models.append(.init(name: "whisper", path: Self.whisperDirectory)); $0.maxTokens = 16; $0.vadModel = vadPath
        }
        let samples = try AudioDecoder.load(path: Fixtures.qwenTinyAudio("fox").path)
        var options = TranscriptionOptions(maxNewTokens: 16)
        options.vad = VoiceActivityFilter(model: try SileroVADModel(path: vadPath))
        let expected = try await server.service.manager.transcribe(samples, model: "whisper", options: options)
        let reply = try await server.transcribe(try MultipartBody.audio("fox", model: "whisper",
                                                                       fields: ["response_format": "verbose_json", "vad": "true"]))
        #expect(reply.status == 200, "\(reply.body)")
        #expect(reply.json["text"] as? String == expected.text)
        let segments = reply.json["segments"] as? [[String: Any]] ?? []
        #expect(segments.map { $0["start"] as? Double } == expected.segments.map(\.start))
        let bad = try await server.transcribe(try MultipartBody.audio("fox", model: "whisper", fields: ["vad": "maybe"]),
                                              headers: Self.close)
        #expect(bad.status == 400 && bad.errorCode == "invalid_vad")
        try await server.stop()
    }
}
