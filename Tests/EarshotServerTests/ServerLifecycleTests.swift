import AsyncHTTPClient
import EarshotRuntime
import EarshotServer
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Model endpoints, memory and metrics, client disconnects and graceful shutdown.
@Suite(.serialized) struct ServerLifecycleTests {
    @Test func modelEndpointsDriveTheLifecycle() async throws {
        let server = try await RunningServer.start()
        #expect(try await server.get("/health").json["status"] as? String == "ok")
        let list = try await server.get("/v1/models").json
        #expect(list["object"] as? String == "list")
        let ids = (list["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(Set(ids) == ["tiny", "micro"])

        let loaded = try await server.post("/v1/models/micro/load")
        #expect(loaded.status == 200 && loaded.json["state"] as? String == "ready")
        #expect((loaded.json["mapped_bytes"] as? Int ?? 0) > 0)
        #expect(try await server.status("micro").state == .ready)
        let one = try await server.get("/v1/models/micro").json
        #expect(one["loads"] as? Int == 1)

        let memory = try await server.get("/v1/memory").json
        let process = memory["process"] as? [String: Any] ?? [:]
        #expect((process["rss_anon_bytes"] as? Int ?? 0) > 0 && (process["open_file_descriptors"] as? Int ?? 0) > 0)
        #expect((memory["models"] as? [[String: Any]])?.count == 2)
        #expect((memory["counters"] as? [String: Any])?["loads"] as? Int == 1)

        let unloaded = try await server.post("/v1/models/micro/unload")
        #expect(unloaded.status == 200 && unloaded.json["state"] as? String == "unloaded")
        #expect(unloaded.json["mapped_bytes"] as? Int == 0 && unloaded.json["unloads"] as? Int == 1)
        #expect(try await server.post("/v1/models/micro/unload").status == 200)   // already unloaded: a no-op

        #expect(try await server.transcribe(.audio("short")).status == 200)
        let metrics = try await server.get("/metrics")
        #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
        for line in ["earshot_model_loads_total 2", "earshot_model_unloads_total 1", "earshot_transcriptions_total 1",
                     #"earshot_model_loaded{model="tiny"} 1.0"#, #"earshot_model_loaded{model="micro"} 0.0"#,
                     "earshot_queue_depth 0.0", "earshot_request_duration_seconds_count 1",
                     "earshot_time_to_first_token_seconds_count 1"] {
            #expect(metrics.body.contains(line + "\n"), "missing \(line)")
        }
        #expect(metrics.body.contains("earshot_rss_anon_bytes "))
        #expect(metrics.body.contains(#"earshot_model_mapped_bytes{model="tiny"} "#))
        try await server.stop()
    }

    /// A client that goes away cancels its decoding: the session comes back long before the
    /// decode could have finished (about 20 s at 100,000 fixed tokens).
    @Test func aClientThatDisconnectsCancelsItsTranscription() async throws {
        let server = try await RunningServer.start { $0.ignoreEOS = true; $0.maxTokens = 100_000 }
        _ = try await server.post("/v1/models/tiny/load")
        for stream in [false, true] {
            let form = try MultipartBody.audio("short", fields: stream ? ["stream": "true"] : [:])
            let started = ContinuousClock.now
            // The client gives up once decoding is under way: cancelling the request closes its connection.
            let client = Task {
                try await server.send("/v1/audio/transcriptions", method: .POST,
                                      headers: ["content-type": form.contentType], body: form.buffer)
            }
            #expect(await ServerFixtures.eventually { (try? await server.status("tiny").inFlight) == 1 })
            try await Task.sleep(for: .milliseconds(300))
            client.cancel()
            _ = await client.result
            #expect(await ServerFixtures.eventually(seconds: 10) { (try? await server.status("tiny").inFlight) == 0 })
            #expect(ContinuousClock.now - started < .seconds(5), "stream=\(stream)")
            #expect(try await server.status("tiny").state == .ready)
        }
        try await server.stop()
    }

    @Test func shutdownDrainsRequestsThenUnloadsEveryModel() async throws {
        let server = try await RunningServer.start { $0.ignoreEOS = true; $0.maxTokens = 150 }
        _ = try await server.post("/v1/models/micro/load")
        let inFlight = Task { try await server.transcribe(.audio("short")) }
        #expect(await ServerFixtures.eventually { (try? await server.status("tiny").inFlight) == 1 })
        try await server.stop()
        let reply = try await inFlight.value
        #expect(reply.status == 200)
        for model in ["tiny", "micro"] {
            let status = try await server.status(model)
            #expect(status.state == .unloaded && status.mappedBytes == 0)
        }
    }
}
