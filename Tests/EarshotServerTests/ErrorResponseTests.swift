import EarshotRuntime
import EarshotServer
import Foundation
import NIOCore
import Testing

/// Every documented failure answers with its status and the OpenAI error body, and leaves the
/// server and its models able to serve the next request.
@Suite(.serialized) struct ErrorResponseTests {
    @Test func badRequestsAreNamedAndHarmless() async throws {
        let server = try await RunningServer.start()
        let good = try await server.transcribe(.audio("short"))
        #expect(good.status == 200)

        func expectError(_ reply: RunningServer.Reply, _ status: Int, _ code: String, mentions: String? = nil,
                         sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(reply.status == status, "\(reply.body)", sourceLocation: sourceLocation)
            #expect(reply.errorCode == code, "\(reply.body)", sourceLocation: sourceLocation)
            #expect(reply.headers["content-type"] == "application/json", sourceLocation: sourceLocation)
            let error = reply.json["error"] as? [String: Any]
            #expect(error?["type"] is String && error?["message"] is String, sourceLocation: sourceLocation)
            if let mentions { #expect(reply.errorMessage.contains(mentions), "\(reply.errorMessage)", sourceLocation: sourceLocation) }
        }
        let notAudio = MultipartBody(file: Array("this is not audio".utf8), filename: "notes.wav")
        expectError(try await server.transcribe(notAudio), 400, "invalid_audio", mentions: "notes.wav")
        expectError(try await server.transcribe(MultipartBody(file: [], filename: "empty.wav")), 400, "invalid_audio")
        expectError(try await server.transcribe(MultipartBody()), 400, "missing_file")
        expectError(try await server.transcribe(.audio("short", model: "")), 400, "missing_model")
        expectError(try await server.transcribe(.audio("short", model: "whisper-1")), 404, "model_not_found", mentions: "tiny")
        expectError(try await server.transcribe(.audio("short", fields: ["language": "klingon"])), 400, "unsupported_language",
                    mentions: "klingon")
        expectError(try await server.transcribe(.audio("short", fields: ["response_format": "xml"])), 400,
                    "invalid_response_format", mentions: "verbose_json")
        expectError(try await server.transcribe(.audio("short", fields: ["temperature": "hot"])), 400, "invalid_temperature")
        expectError(try await server.transcribe(.audio("short", fields: ["stream": "maybe"])), 400, "invalid_stream")
        expectError(try await server.post("/v1/audio/transcriptions", headers: ["content-type": "application/json"],
                                           body: ByteBuffer(string: "{}")), 400, "invalid_multipart")
        var truncated = try MultipartBody.audio("short").buffer
        truncated.moveWriterIndex(to: truncated.writerIndex - 40)
        expectError(try await server.post("/v1/audio/transcriptions",
                                          headers: ["content-type": try MultipartBody.audio("short").contentType],
                                          body: truncated), 400, "invalid_multipart")
        expectError(try await server.get("/v1/nothing"), 404, "not_found")
        expectError(try await server.post("/v1/models/nope/load"), 404, "model_not_found")

        // Nothing above disturbed the loaded model or the next request.
        #expect(try await server.status("tiny").state == .ready)
        let again = try await server.transcribe(.audio("short"))
        #expect(again.status == 200 && again.json["text"] as? String == good.json["text"] as? String)
        let metrics = try await server.get("/metrics").body
        #expect(metrics.contains(#"earshot_rejections_total{reason="invalid_audio"} 2"#))
        try await server.stop()
    }

    @Test func oversizedUploadsAre413() async throws {
        let server = try await RunningServer.start { $0.maxUploadMB = 1 }
        let big = MultipartBody(file: [UInt8](repeating: 0, count: 2 << 20), filename: "big.wav")
        let reply = try await server.transcribe(big)
        #expect(reply.status == 413 && reply.errorCode == "file_too_large")
        #expect(try await server.transcribe(.audio("short")).status == 200)
        try await server.stop()
    }

    @Test func aModelThatCannotFitIs507WithTheNumbers() async throws {
        let server = try await RunningServer.start { $0.budgetMB = 1 }
        let reply = try await server.transcribe(.audio("short"))
        #expect(reply.status == 507 && reply.errorCode == "insufficient_memory")
        #expect(reply.errorMessage.contains("budget is 1 MB"), "\(reply.errorMessage)")
        #expect(try await server.status("tiny").state == .unloaded)
        let load = try await server.post("/v1/models/tiny/load")
        #expect(load.status == 507)
        try await server.stop()
    }

    @Test func aFullQueueIs429WithRetryAfter() async throws {
        // One slot, no queue, and requests slow enough (200 fixed tokens) to overlap.
        let server = try await RunningServer.start { $0.maxConcurrency = 1; $0.queueLimit = 0; $0.ignoreEOS = true; $0.maxTokens = 200 }
        _ = try await server.post("/v1/models/tiny/load")
        let first = Task { try await server.transcribe(.audio("short")) }
        #expect(await ServerFixtures.eventually { (try? await server.status("tiny").inFlight) == 1 })
        let refused = try await server.transcribe(.audio("short"))
        #expect(refused.status == 429 && refused.errorCode == "queue_full")
        #expect(refused.headers["retry-after"] == "1")
        let done = try await first.value
        #expect(done.status == 200)
        #expect(try await server.transcribe(.audio("short")).status == 200)
        try await server.stop()
    }

    @Test func aSlowTranscriptionIs504AndFreesItsSession() async throws {
        let server = try await RunningServer.start { $0.timeoutSeconds = 0.2; $0.ignoreEOS = true; $0.maxTokens = 100_000 }
        _ = try await server.post("/v1/models/tiny/load")
        let started = ContinuousClock.now
        let reply = try await server.transcribe(.audio("short"))
        #expect(reply.status == 504 && reply.errorCode == "timeout")
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(await ServerFixtures.eventually { (try? await server.status("tiny").inFlight) == 0 })
        #expect(try await server.status("tiny").state == .ready)
        try await server.stop()
    }

    @Test func theAPIKeyIsRequiredWhenConfigured() async throws {
        let server = try await RunningServer.start { $0.apiKey = "s3cret-key" }
        #expect(try await server.get("/health").status == 200)
        let none = try await server.get("/v1/models")
        #expect(none.status == 401 && none.errorCode == "invalid_api_key")
        #expect(try await server.get("/v1/models", headers: ["authorization": "Bearer s3cret-kez"]).status == 401)
        #expect(try await server.get("/v1/models", headers: ["authorization": "Bearer s3cret-key-longer"]).status == 401)
        #expect(try await server.transcribe(.audio("short")).status == 401)
        #expect(try await server.get("/v1/models", headers: ["authorization": "Bearer s3cret-key"]).status == 200)
        #expect(try await server.transcribe(.audio("short"), headers: ["authorization": "Bearer s3cret-key"]).status == 200)
        try await server.stop()
    }
}
