import EarshotRuntime
import EarshotAudio
import EarshotTestSupport
import EarshotServer
import Foundation
import NIOCore
import Testing

/// `POST /v1/audio/transcriptions` over real HTTP: every response format and streaming, checked
/// against what the runtime itself transcribes for the same model and clip.
@Suite(.serialized) struct TranscriptionEndpointTests {
    @Test func everyResponseFormatCarriesTheRuntimeTranscript() async throws {
        let server = try await RunningServer.start()
        for clip in ["short", "fox"] {
            let expected = try await ServerFixtures.expected(server, clip)
            #expect(!expected.text.isEmpty)

            let json = try await server.transcribe(.audio(clip))
            #expect(json.status == 200 && json.headers["content-type"] == "application/json")
            #expect(json.json["text"] as? String == expected.text)
            #expect(json.headers["x-request-id"]?.isEmpty == false)
            #expect(Double(json.headers["x-earshot-ttft-ms"] ?? "") ?? 0 > 0)
            #expect(json.headers["x-earshot-tokens"] == "\(expected.tokenIDs.count)")

            let text = try await server.transcribe(.audio(clip, fields: ["response_format": "text"]))
            #expect(text.status == 200 && text.body == expected.text + "\n")
            #expect(text.headers["content-type"]?.hasPrefix("text/plain") == true)

            let verbose = try await server.transcribe(.audio(clip, fields: ["response_format": "verbose_json"]))
            let v = verbose.json
            #expect(v["text"] as? String == expected.text)
            #expect(abs((v["duration"] as? Double ?? 0) - expected.audioSeconds) < 1e-3)   // times are rounded to the millisecond
            let segments = v["segments"] as? [[String: Any]] ?? []
            #expect(segments.count == 1)
            #expect(segments.first?["text"] as? String == expected.text)
            #expect(segments.first?["tokens"] as? [Int] == expected.tokenIDs)

            let srt = try await server.transcribe(.audio(clip, fields: ["response_format": "srt"]))
            let srtLines = srt.body.components(separatedBy: "\n")
            #expect(srtLines.first == "1" && srtLines.dropFirst().first?.hasPrefix("00:00:00,000 --> 00:00:") == true)
            #expect(srtLines.dropFirst(2).first == expected.text)

            let vtt = try await server.transcribe(.audio(clip, fields: ["response_format": "vtt"]))
            #expect(vtt.body.hasPrefix("WEBVTT\n\n00:00:00.000 --> 00:00:"))
            #expect(vtt.body.contains("\n" + expected.text + "\n"))
        }
        try await server.stop()
    }

    @Test func streamingSendsDeltasThenTheWholeText() async throws {
        // 12 tokens: below the runaway-repetition cleanup (20 repeats), which may shorten the final
        // text of a looping output after its deltas went out.
        let server = try await RunningServer.start { $0.maxTokens = 12 }
        // Detected language: the random model never writes `<asr_text>`, so its text comes as the
        // last delta. Forced language: everything is transcript and streams token by token.
        for language in [nil, "en"] {
            let expected = try await ServerFixtures.expected(server, "fox", language: language.map { _ in "English" })
            var fields = ["stream": "true"]
            if let language { fields["language"] = language }
            let reply = try await server.transcribe(.audio("fox", fields: fields))
            #expect(reply.status == 200 && reply.headers["content-type"] == "text/event-stream")
            let events = reply.body.components(separatedBy: "\n\n").filter { !$0.isEmpty && !$0.hasPrefix(":") }
                .map { event -> [String: Any] in
                    let data = event.split(separator: "\n").first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) } ?? ""
                    return (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:]
                }
            let deltas = events.filter { $0["type"] as? String == "transcript.text.delta" }.compactMap { $0["delta"] as? String }
            #expect(language == nil ? !deltas.isEmpty : deltas.count > 3, "\(deltas)")
            #expect(deltas.joined() == expected.text)
            #expect(events.last?["type"] as? String == "transcript.text.done")
            #expect(events.last?["text"] as? String == expected.text)
        }
        try await server.stop()
    }

    @Test func twoModelsServeConcurrentRequests() async throws {
        let server = try await RunningServer.start { $0.maxConcurrency = 2; $0.queueLimit = 16 }
        let tiny = try await ServerFixtures.expected(server, "short", model: "tiny")
        let micro = try await ServerFixtures.expected(server, "short", model: "micro")
        await server.service.manager.unloadAll()
        let replies = try await withThrowingTaskGroup(of: (String, RunningServer.Reply).self) { group in
            for i in 0..<8 {
                let model = i % 2 == 0 ? "tiny" : "micro"
                group.addTask { (model, try await server.transcribe(.audio("short", model: model))) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(replies.count == 8)
        for (model, reply) in replies {
            #expect(reply.status == 200, "\(reply.body)")
            #expect(reply.json["text"] as? String == (model == "tiny" ? tiny.text : micro.text))
        }
        let metrics = try await server.get("/metrics").body
        #expect(metrics.contains("earshot_model_switches_total"))
        #expect(try await server.status("tiny").inFlight == 0)
        try await server.stop()
    }

    @Test func languageAndPromptReachTheModel() async throws {
        let server = try await RunningServer.start()
        let forced = try await server.transcribe(.audio("fox", fields: ["language": "en", "prompt": "names: Qwen"]))
        #expect(forced.status == 200)
        let samples = try EarshotAudio.AudioDecoder.load(path: EarshotTestSupport.Fixtures.qwenTinyAudio("fox").path)
        let direct = try await server.service.manager.transcribe(samples, model: "tiny",
            options: TranscriptionOptions(language: "English", context: "names: Qwen"))
        #expect(forced.json["text"] as? String == direct.text)
        let verbose = try await server.transcribe(.audio("fox", fields: ["language": "English", "response_format": "verbose_json"]))
        #expect(verbose.json["language"] as? String == "english")
        try await server.stop()
    }
}
