import EarshotRuntime
import EarshotTestSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import EarshotServer

/// Hostile requests above the socket level: multipart bombs, API-key spelling, log forging and
/// model ids that look like paths.
@Suite(.serialized) struct RequestHardeningTests {
    /// No boundary, a 10 KB boundary, 10,000 parts, a 1 MB part header: typed 400s, each answered
    /// quickly, and the server serves the next request.
    @Test func hostileMultipartIsATyped400() async throws {
        let server = try await RunningServer.start()
        func post(_ contentType: String, _ body: [UInt8]) async throws -> RunningServer.Reply {
            try await server.post("/v1/audio/transcriptions", headers: ["content-type": contentType], body: ByteBuffer(bytes: body))
        }
        let b = "hostile"
        let part = "--\(b)\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n"
        let cases: [(String, String, [UInt8], String)] = [
            ("no boundary", "multipart/form-data", Array("--x\r\n".utf8), "no boundary"),
            ("10 KB boundary", "multipart/form-data; boundary=\(String(repeating: "b", count: 10_240))", Array("--b\r\n".utf8),
             "invalid multipart boundary"),
            ("10,000 parts", "multipart/form-data; boundary=\(b)", Array((String(repeating: part, count: 10_000) + "--\(b)--\r\n").utf8),
             "more than 32 parts"),
            ("1 MB part header", "multipart/form-data; boundary=\(b)",
             Array("--\(b)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(String(repeating: "a", count: 1 << 20))\"\r\n\r\nx\r\n--\(b)--\r\n".utf8),
             "bytes of headers"),
        ]
        for (label, contentType, body, mention) in cases {
            let started = ContinuousClock.now
            let reply = try await post(contentType, body)
            let took = ContinuousClock.now - started
            #expect(reply.status == 400 && reply.errorCode == "invalid_multipart", "\(label): \(reply.body.prefix(300))")
            #expect(reply.errorMessage.contains(mention), "\(label): \(reply.errorMessage.prefix(300))")
            #expect(reply.body.utf8.count < 2048, "\(label): the error does not echo the input")
            #expect(took < .seconds(10), "\(label): \(took)")
            print("multipart \(label): \(reply.status) in \(took)")
        }
        #expect(try await server.transcribe(.audio("short")).status == 200)
        try await server.stop()
    }

    /// The Bearer scheme is case-insensitive; `/metrics` and `/v1/memory` need the key like the
    /// API; `/health` stays public.
    @Test func theAPIKeyRuleCoversEveryRouteButHealth() async throws {
        let server = try await RunningServer.start { $0.apiKey = "k3y" }
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            #expect(try await server.get("/v1/models", headers: ["authorization": "\(scheme) k3y"]).status == 200, "\(scheme)")
        }
        #expect(try await server.get("/v1/models", headers: ["authorization": "bearer   k3y"]).status == 200)
        for bad in ["Basic k3y", "Bearerk3y", "Bearer", "Bearer ", "bearer k3", "k3y", "Bearer k3y k3y"] {
            #expect(try await server.get("/v1/models", headers: ["authorization": bad]).status == 401, "\(bad)")
        }
        for path in ["/metrics", "/v1/memory"] {
            let none = try await server.get(path)
            #expect(none.status == 401 && none.errorCode == "invalid_api_key", "\(path)")
            #expect(try await server.get(path, headers: ["authorization": "bearer k3y"]).status == 200, "\(path)")
        }
        #expect(try await server.get("/health").status == 200)
        #expect(try await server.transcribe(.audio("short"), headers: ["authorization": "BEARER k3y"]).status == 200)
        try await server.stop()
    }

    /// Client strings with line breaks and control characters reach the log escaped, on one line.
    @Test func clientStringsCannotForgeLogLines() async throws {
        let lines = CapturedLog()
        var logger = Logger(label: "earshot.test") { _ in CapturingHandler(sink: lines) }
        logger.logLevel = .info
        let server = try await RunningServer.start(logger: logger)
        let forged = "tiny\n2026-01-01T00:00:00+0000 error earshot.server : forged line\r\u{1b}[31m\u{0}"
        #expect(try await server.transcribe(.audio("short", model: forged)).status == 404)
        #expect(try await server.transcribe(.audio("short", fields: ["language": "en\nforged"])).status == 400)
        #expect(try await server.get("/v1/models/x%0Aforged%0D").status == 404)
        let records = lines.records
        #expect(records.contains { $0.contains("forged line") }, "the failure was logged")
        for record in records {
            #expect(!record.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "unescaped control character in: \(record)")
        }
        #expect(records.contains { $0.contains(#"tiny\n2026-01-01"#) })
        try await server.stop()
    }

    /// Model ids that look like paths are unknown models (404), matched as strings without
    /// touching the filesystem; the configuration refuses such ids outright.
    @Test func modelIDsThatLookLikePathsAreRefused() async throws {
        let server = try await RunningServer.start()
        for id in ["../tiny", "tiny/../tiny", "/etc/passwd", "ti\u{0}ny", "./tiny", "..", "tiny\\..\\x"] {
            let reply = try await server.transcribe(.audio("short", model: id))
            #expect(reply.status == 404 && reply.errorCode == "model_not_found", "\(id): \(reply.body)")
        }
        for path in ["/v1/models/..%2Ftiny", "/v1/models/%2E%2E/load", "/v1/models/tiny%00/load"] {
            let reply = try await server.send(path, method: path.hasSuffix("load") ? .POST : .GET)
            #expect(reply.status == 404, "\(path): \(reply.body)")
        }
        #expect(try await server.status("tiny").state == .unloaded)
        try await server.stop()

        for bad in ["..", ".", "../x", "a/b", "a\\b", "a\nb", "a\u{0}b", "a b", ".hidden", String(repeating: "m", count: 129)] {
            var settings = ServerConfiguration()
            settings.models = [.init(name: bad, path: Fixtures.qwenTinyModel.path)]
            #expect(throws: ServerConfigurationError.self, "\(bad.debugDescription)") { try settings.validate() }
        }
        var fine = ServerConfiguration()
        fine.models = [.init(name: "qwen3-asr_1.7b:q8+test@v2", path: Fixtures.qwenTinyModel.path)]
        try fine.validate()
    }

    /// The connection settings come from the file and environment like the others, and are checked.
    @Test func connectionLimitsAreConfiguredAndValidated() throws {
        let json = #"{"models": ["/m"], "header_timeout": 5, "body_timeout": 7.5, "idle_timeout": 20, "max_connections": 100, "#
            + #""max_connections_per_ip": 10, "max_header_bytes": 4096, "max_headers": 30, "min_body_rate": 500}"#
        var settings = try JSONDecoder().decode(ServerConfiguration.self, from: Data(json.utf8))
        #expect(settings.connections.headerTimeoutSeconds == 5 && settings.connections.bodyTimeoutSeconds == 7.5)
        #expect(settings.connections.idleTimeoutSeconds == 20 && settings.connections.maxConnections == 100)
        #expect(settings.connections.maxConnectionsPerIP == 10 && settings.connections.maxHeaderBytes == 4096)
        #expect(settings.connections.maxHeaders == 30 && settings.connections.minBodyBytesPerSecond == 500)
        try settings.apply(environment: ["EARSHOT_MAX_CONNECTIONS_PER_IP": "20", "EARSHOT_IDLE_TIMEOUT": "2.5"])
        #expect(settings.connections.maxConnectionsPerIP == 20 && settings.connections.idleTimeoutSeconds == 2.5)
        #expect(throws: ServerConfigurationError.invalidValue("EARSHOT_BODY_TIMEOUT", "soon")) {
            try settings.apply(environment: ["EARSHOT_BODY_TIMEOUT": "soon"])
        }
        let defaults = ConnectionLimits()
        try defaults.validate()
        for broken: (inout ConnectionLimits) -> Void in [
            { $0.headerTimeoutSeconds = 0 }, { $0.bodyTimeoutSeconds = .infinity }, { $0.idleTimeoutSeconds = .nan },
            { $0.idleTimeoutSeconds = 1e12 }, { $0.maxConnections = 0 }, { $0.maxConnectionsPerIP = 0 },
            { $0.maxConnectionsPerIP = 1000 }, { $0.maxHeaderBytes = 10 }, { $0.maxHeaderBytes = Int.max }, { $0.maxHeaders = 0 },
            { $0.minBodyBytesPerSecond = -1 }, { $0.minBodyBytesPerSecond = Int.max },
        ] {
            var limits = ConnectionLimits()
            broken(&limits)
            #expect(throws: ServerConfigurationError.self) { try limits.validate() }
        }
    }
}

/// Log records rendered as `StreamLogHandler` writes them (message, then metadata as key=value).
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])
    var records: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}

/// A value-semantics handler (as `LogHandler` requires) writing into a shared `CapturedLog`.
struct CapturingHandler: LogHandler {
    let sink: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let meta = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        sink.append("\(event.level) \(event.message) \(meta)")
    }
}
