import EarshotRuntime
import Foundation
import Hummingbird

/// Models, memory, health and metrics endpoints.
struct ManagementRoutes: Sendable {
    let service: TranscriptionService

    func register(on router: Router<BasicRequestContext>) {
        router.get("/health") { _, _ in Self.json(["status": "ok"]) }
        router.get("/v1/models") { _, _ in
            let models = await service.manager.models
            return Self.json(ModelList(data: models.map(ModelObject.init)))
        }
        router.get("/v1/models/{id}") { _, context in
            let status = try await service.manager.status(of: try Self.modelID(context, service))
            return Self.json(ModelObject(status))
        }
        router.post("/v1/models/{id}/load") { _, context in
            let status = try await service.manager.load(try Self.modelID(context, service))
            return Self.json(ModelObject(status))
        }
        router.post("/v1/models/{id}/unload") { _, context in
            let id = try Self.modelID(context, service)
            // Unloading what is not loaded is a no-op, not an error: the caller's goal already holds.
            if try await service.manager.state(of: id) != .unloaded { try await service.manager.unload(id) }
            return Self.json(ModelObject(try await service.manager.status(of: id)))
        }
        router.get("/v1/memory") { _, _ in Self.json(await service.memory()) }
        router.get("/metrics") { _, _ in
            let text = service.metrics.render(memory: MemoryReport.current(), models: await service.manager.models,
                                              counters: await service.manager.counters,
                                              queueDepth: await service.admission.queueDepth,
                                              running: await service.admission.running,
                                              connections: service.connections)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    private static func modelID(_ context: BasicRequestContext, _ service: TranscriptionService) throws -> String {
        let id = context.parameters.get("id") ?? ""
        guard service.knownModels.contains(id) else { throw APIError.unknownModel(id, known: service.knownModels) }
        return id
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.keyEncodingStrategy = .convertToSnakeCase
        return e
    }()

    static func json(_ value: some Encodable) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// OpenAI's model list, with Earshot's lifecycle fields alongside.
struct ModelList: Encodable {
    let object = "list"
    let data: [ModelObject]
}

struct ModelObject: Encodable {
    let id: String
    let object = "model"
    let created = 0
    let ownedBy = "earshot"
    let state: String
    let path: String
    let mappedBytes: Int
    let estimatedBytes: Int
    let inFlight: Int
    let sessions: Int
    let loads: Int
    let unloads: Int

    init(_ s: ModelStatus) {
        id = s.name; state = s.state.rawValue; path = s.directory; mappedBytes = s.mappedBytes
        estimatedBytes = s.estimatedBytes; inFlight = s.inFlight; sessions = s.sessions; loads = s.loads; unloads = s.unloads
    }
}
