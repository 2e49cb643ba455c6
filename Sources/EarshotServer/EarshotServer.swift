import EarshotRuntime
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import UnixSignals

/// The HTTP server: builds the router over a `TranscriptionService` and runs it under
/// swift-service-lifecycle. On SIGTERM/SIGINT the HTTP server stops accepting, finishes the
/// requests in flight, and only then `ModelLifecycleService` unloads every model.
public enum EarshotServer {
    /// Builds the application. `onListening` gets the bound port once the socket is open.
    public static func makeApplication(service: TranscriptionService, logger: Logger,
                                       onListening: @escaping @Sendable (Int) async -> Void = { _ in })
        -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(RequestIDMiddleware())
        router.middlewares.add(LogRequestsMiddleware(.info))
        router.middlewares.add(APIErrorMiddleware(metrics: service.metrics))
        if let key = service.configuration.apiKey { router.middlewares.add(APIKeyMiddleware(key: Array(key.utf8))) }
        ManagementRoutes(service: service).register(on: router)
        let transcriptions = TranscriptionHandler(service: service)
        router.post(RouterPath(TranscriptionHandler.path)) { request, context in try await transcriptions.handle(request, context: context) }
        let translations = TranscriptionHandler(service: service, task: .translate)
        router.post(RouterPath(TranscriptionHandler.translationsPath)) { request, context in
            try await translations.handle(request, context: context)
        }
        let configuration = service.configuration
        return Application(
            router: router,
            server: httpServer(service),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "earshot"),
            services: [ModelLifecycleService(manager: service.manager, logger: logger)],
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }

    /// The application and its stop notice in one service group. Services shut down in reverse
    /// order: the stop notice first (decodes in flight give up at once), then the HTTP server
    /// drains, then the models unload. `signals` start that shutdown (none: only
    /// `triggerGracefulShutdown()`, as the tests do).
    public static func makeServiceGroup(service: TranscriptionService, logger: Logger,
                                        signals: [UnixSignal] = [.sigterm, .sigint],
                                        onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> ServiceGroup {
        let app = makeApplication(service: service, logger: logger, onListening: onListening)
        return ServiceGroup(configuration: .init(services: [app, StopNoticeService(signal: service.stopping)],
                                                 gracefulShutdownSignals: signals, logger: logger))
    }

    /// HTTP/1.1 with Earshot's limits: header size and count for the decoder, and a
    /// `ConnectionGuard` per connection for timeouts, connection counts and closing after early answers.
    static func httpServer(_ service: TranscriptionService) -> HTTPServerBuilder {
        let limits = service.configuration.connections, registry = service.connections, metrics = service.metrics
        return .http1(configuration: .init(
            additionalChannelHandlers: [ConnectionGuard(limits: limits, registry: registry, metrics: metrics)],
            idleTimeout: nil,   // ConnectionGuard's timeouts cover idle connections
            httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes,
                                            maxHeaderFieldCount: limits.maxHeaders)))
    }

    /// Runs until SIGTERM or SIGINT, then drains, unloads every model and returns.
    public static func run(service: TranscriptionService, logger: Logger,
                           onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await makeServiceGroup(service: service, logger: logger, onListening: onListening).run()
    }
}

/// Holds the models for the server's lifetime: when the service group shuts down (after the HTTP
/// server has drained, since services stop in reverse order) it unloads every model, so the
/// process exits with every mapping returned.
struct ModelLifecycleService: Service {
    let manager: ModelManager
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        await manager.unloadAll()
        logger.info("unloaded every model", metadata: ["rss_anon_mb": "\(MemoryReport.current().rssAnonBytes >> 20)"])
    }
}

/// Flips the service's stop signal as soon as graceful shutdown begins.
struct StopNoticeService: Service {
    let signal: StopSignal
    func run() async throws {
        try? await gracefulShutdown()
        signal.set()
    }
}

/// Echoes Hummingbird's request id as `x-request-id`, so a client can quote it against the logs.
/// Transcription answers also say `Connection: close`: the handler watches the connection to
/// cancel work when the client leaves, which ends its keep-alive, and a client told so up front
/// does not try to reuse the connection for its next request.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.init("x-request-id")!] = context.id
        if request.uri.path == TranscriptionHandler.path { response.headers[.connection] = "close" }
        return response
    }
}
