import AsyncHTTPClient
import EarshotAudio
import EarshotBench
import EarshotModels
import EarshotRuntime
import EarshotServer
import EarshotTestSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// A real server on a loopback port, run in-process under its own service group, and the
/// AsyncHTTPClient calls the tests make against it.
final class RunningServer: Sendable {
    let service: TranscriptionService
    let url: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(service: TranscriptionService, url: String, group: ServiceGroup, task: Task<Void, any Error>) {
        self.service = service; self.url = url; self.group = group; self.task = task
    }

    /// Starts a server for `configure`d settings with the tiny fixture model ("tiny") and a micro
    /// random checkpoint ("micro") on a free port.
    /// `logger` replaces the default one (warnings and up, to the console), e.g. to capture log lines.
    static func start(logger custom: Logger? = nil,
                      _ configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> RunningServer {
        var settings = ServerConfiguration()
        settings.models = [.init(name: "tiny", path: Fixtures.qwenTinyModel.path), .init(name: "micro", path: ServerFixtures.micro)]
        settings.port = 0
        settings.ttlSeconds = 0
        configure(&settings)
        let service = try await TranscriptionService(configuration: settings)
        var logger = Logger(label: "earshot.test")
        logger.logLevel = .warning
        if let custom { logger = custom }
        let (ports, sink) = AsyncStream<Int>.makeStream()
        let group = EarshotServer.makeServiceGroup(service: service, logger: logger, signals: []) { sink.yield($0); sink.finish() }
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ServerTestError("server did not start") }
        return RunningServer(service: service, url: "http://127.0.0.1:\(port)", group: group, task: task)
    }

    /// The port the server listens on.
    var port: Int { Int(url.split(separator: ":").last ?? "") ?? 0 }

    /// Graceful shutdown: drains requests in flight, unloads every model.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    // MARK: Requests

    struct Reply: Sendable {
        let status: Int
        let headers: [String: String]
        let body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        /// `error.code` of an OpenAI error body.
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var errorMessage: String { (json["error"] as? [String: Any])?["message"] as? String ?? "" }
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> Reply {
        try await send(path, method: .GET, headers: headers)
    }

    func post(_ path: String, headers: [String: String] = [:], body: ByteBuffer? = nil) async throws -> Reply {
        try await send(path, method: .POST, headers: headers, body: body)
    }

    func transcribe(_ form: MultipartBody, headers: [String: String] = [:]) async throws -> Reply {
        var h = headers
        h["content-type"] = form.contentType
        return try await post("/v1/audio/transcriptions", headers: h, body: form.buffer)
    }

    /// How long the test client waits for an answer: a debug build under ThreadSanitizer runs the
    /// model 5-15x slower, and a test's 200 fixed tokens then take more than a minute.
    static let clientTimeout: TimeAmount = Sanitizer.isActive ? .seconds(600) : .seconds(60)

    func send(_ path: String, method: HTTPMethod, headers: [String: String] = [:], body: ByteBuffer? = nil,
              timeout: TimeAmount = RunningServer.clientTimeout) async throws -> Reply {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        if let body { request.body = .bytes(body) }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let data = try await response.body.collect(upTo: 64 << 20)
        var flat: [String: String] = [:]
        for h in response.headers { flat[h.name.lowercased()] = h.value }
        return Reply(status: Int(response.status.code), headers: flat, body: String(buffer: data))
    }

    /// The model's status as the server's manager sees it.
    func status(_ model: String) async throws -> ModelStatus { try await service.manager.status(of: model) }
}

/// A multipart/form-data body built the way HTTP clients build one.
struct MultipartBody: Sendable {
    let boundary = "earshot-test-\(UInt64.random(in: 0...UInt64.max))"
    private(set) var bytes: [UInt8] = []

    init(model: String? = "tiny", file: [UInt8]? = nil, filename: String = "audio.wav", fields: [String: String] = [:]) {
        if let file { append(file: file, filename: filename) }
        if let model { append(field: "model", model) }
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) { append(field: k, v) }
    }

    static func audio(_ name: String, model: String = "tiny", fields: [String: String] = [:]) throws -> MultipartBody {
        let data = try Data(contentsOf: Fixtures.qwenTinyAudio(name))
        return MultipartBody(model: model, file: Array(data), filename: "\(name).wav", fields: fields)
    }

    mutating func append(field name: String, _ value: String) {
        bytes += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }

    mutating func append(file: [UInt8], filename: String) {
        bytes += Array(("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\n"
                        + "Content-Type: audio/wav\r\n\r\n").utf8)
        bytes += file
        bytes += Array("\r\n".utf8)
    }

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }
    var buffer: ByteBuffer { ByteBuffer(bytes: bytes + Array("--\(boundary)--\r\n".utf8)) }
}

enum ServerFixtures {
    /// A micro random checkpoint, written once per test process.
    static let micro: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-server-\(getpid())/micro").path
        if !FileManager.default.fileExists(atPath: dir + "/model.safetensors") {
            try! RandomCheckpoint.write(shape: .micro, to: dir, tokenizerFrom: nil, seed: 7)
        }
        return dir
    }()

    /// What the runtime itself transcribes for a fixture clip with `model` (the server must agree).
    static func expected(_ server: RunningServer, _ clip: String, model: String = "tiny",
                         language: String? = nil) async throws -> TranscriptionResult {
        let samples = try AudioDecoder.load(path: Fixtures.qwenTinyAudio(clip).path)
        let settings = server.service.configuration
        return try await server.service.manager.transcribe(samples, model: model,
            options: TranscriptionOptions(language: language, maxNewTokens: settings.maxTokens))
    }

    /// Polls `condition` for up to `seconds`.
    static func eventually(seconds: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
        try await Poll.until(seconds: seconds, condition)
    }
}

struct ServerTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
