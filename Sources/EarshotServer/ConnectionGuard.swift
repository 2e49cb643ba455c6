import Foundation
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Polices one client connection (one instance per connection, on its event loop), between
/// Hummingbird's HTTP decoding and its request handling:
///
/// - Admission: a connection beyond `maxConnectionsPerIP` for its address or `maxConnections` in
///   total is answered 503 and closed at once (counted in `/metrics`).
/// - Timeouts: no request for `idleTimeout` closes the connection; a request whose headers are not
///   complete `headerTimeout` after its first byte, or whose body pauses for `bodyTimeout` or
///   arrives slower on average than `minBodyBytesPerSecond`, is answered 408 and closed. Nothing times out while the server itself is working on an answer
///   (the transcription timeout covers that).
/// - Closing: an answer sent before the request body was read (413, 401, 400 for a bad form...) says
///   `Connection: close`; the server then shuts its sending side, discards whatever the client still
///   sends for a short grace period (so the client can read the answer instead of getting a reset)
///   and closes. Hummingbird alone would read the rest of the upload, and a client that stops
///   sending would hold the socket until exit. Any answer that says `Connection: close`, and any
///   request that asks for it, also ends the connection once the answer is written.
///
/// The handler needs to know when a request's first byte arrives, which the HTTP decoder hides
/// until the headers are complete, so it puts a small `ByteWatcher` in front of the decoder.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// How long an early answer's connection keeps discarding the client's upload before closing.
    static let lingerSeconds = 2.0

    private let limits: ConnectionLimits
    private let registry: ConnectionRegistry
    private let metrics: ServerMetrics

    /// The admitted client's address, until the connection is released.
    private var admittedAddress: String?
    private var activated = false
    /// Requests whose head, whose end, and whose answer's end have been seen.
    private var headsRead = 0, endsRead = 0, answersDone = 0
    /// An answer has been started and not ended.
    private var answering = false
    /// Set when the current answer must be the connection's last one.
    private var closeAfterAnswer = false
    /// No byte of a next request has arrived since the connection opened or the last answer ended.
    private var awaitingFirstByte = true
    /// The early answer was sent: the rest of the input is discarded until the connection closes.
    private var lingering = false
    private var closed = false
    private var deadline: NIODeadline?
    /// The current request body: when its head arrived and how many body bytes came since.
    private var bodyStarted: NIODeadline?
    private var bodyBytes = 0
    /// The body is over its minimum-rate budget (not merely paused).
    private var bodyTooSlow = false
    private var timer: Scheduled<Void>?
    /// When the scheduled timer fires (it may be later than `deadline` when a shorter timeout took over).
    private var timerFires: NIODeadline?
    private var context: ChannelHandlerContext?

    init(limits: ConnectionLimits, registry: ConnectionRegistry, metrics: ServerMetrics) {
        self.limits = limits
        self.registry = registry
        self.metrics = metrics
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // In front of the HTTP decoder, where raw bytes arrive.
        try? context.pipeline.syncOperations.addHandler(ByteWatcher(owner: self), position: .first)
        if context.channel.isActive { activate(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        activate(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    private func activate(_ context: ChannelHandlerContext) {
        guard !activated else { return }
        activated = true
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        if let refusal = registry.admit(address) {
            metrics.recordConnectionRefused(refusal)
            answerAndClose(.tooManyConnections(perAddress: refusal == .perIP), context: context)
            return
        }
        admittedAddress = address
        setDeadline(after: limits.idleTimeoutSeconds)
    }

    private func release() {
        closed = true
        timer?.cancel()
        timer = nil
        timerFires = nil
        if let address = admittedAddress {
            admittedAddress = nil
            registry.release(address)
        }
    }

    // MARK: Inbound

    /// Called by the `ByteWatcher` for every read from the socket.
    fileprivate func bytesArrived() {
        guard awaitingFirstByte, !lingering, !closed else { return }
        awaitingFirstByte = false
        setDeadline(after: limits.headerTimeoutSeconds)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !lingering, !closed else { return }   // the rest of an upload already answered: dropped
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let request):
            headsRead += 1
            awaitingFirstByte = false
            if Self.asksToClose(request.headerFields) { closeAfterAnswer = true }
            bodyStarted = .now()
            bodyBytes = 0
            setBodyDeadline()
        case .body(let chunk):
            bodyBytes += chunk.readableBytes
            setBodyDeadline()
        case .end:
            endsRead += 1
            bodyStarted = nil
            deadline = nil   // the server works on the answer now; no client timeout applies
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client finished sending while we were discarding: nothing more to wait for.
        if lingering, case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A parse error in the discarded rest of an upload (say, the client stopped mid-body).
        if lingering {
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // After this handler's own last answer (408, 503) nothing else goes out.
        if closed {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var response) where response.status.kind != .informational:
            answering = true
            // An answer before the body was read: the connection cannot carry another request.
            if headsRead > endsRead || closeAfterAnswer || Self.asksToClose(response.headerFields) {
                closeAfterAnswer = true
                response.headerFields[.connection] = "close"
            }
            context.write(wrapOutboundOut(.head(response)), promise: promise)
        case .head, .body:
            context.write(data, promise: promise)
        case .end:
            answering = false
            answersDone += 1
            guard closeAfterAnswer else {
                if answersDone >= headsRead, headsRead == endsRead {
                    awaitingFirstByte = true
                    setDeadline(after: limits.idleTimeoutSeconds)
                }
                context.write(data, promise: promise)
                return
            }
            let early = headsRead > endsRead
            let channel = context.channel
            let written = context.eventLoop.makePromise(of: Void.self)
            if let promise { written.futureResult.cascade(to: promise) }
            context.writeAndFlush(data, promise: written)
            if early {
                lingering = true
                setDeadline(after: min(Self.lingerSeconds, limits.bodyTimeoutSeconds))
                written.futureResult.whenComplete { _ in channel.close(mode: .output, promise: nil) }
            } else {
                deadline = nil
                written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            }
        }
    }

    // MARK: Timeouts

    /// The earlier of: `bodyTimeout` from now (a pause), and the body's whole budget at the minimum
    /// rate, `bodyTimeout` + received / rate from its start.
    private func setBodyDeadline() {
        let pause = NIODeadline.now() + .nanoseconds(Int64(limits.bodyTimeoutSeconds * 1e9))
        guard limits.minBodyBytesPerSecond > 0, let bodyStarted else { return setDeadline(at: pause) }
        let budget = limits.bodyTimeoutSeconds + Double(bodyBytes) / Double(limits.minBodyBytesPerSecond)
        let whole = bodyStarted + .nanoseconds(Int64(min(budget, 1e9) * 1e9))
        bodyTooSlow = whole < pause
        setDeadline(at: min(pause, whole))
    }

    private func setDeadline(after seconds: Double) {
        setDeadline(at: NIODeadline.now() + .nanoseconds(Int64(seconds * 1e9)))
    }

    private func setDeadline(at when: NIODeadline) {
        deadline = when
        guard let context else { return }
        // A later deadline reuses the timer (it re-arms when it fires); an earlier one replaces it.
        if let fires = timerFires, fires <= when { return }
        timer?.cancel()
        schedule(at: when, context: context)
    }

    /// One timer per connection: when it fires early (the deadline moved on), it re-arms itself.
    private func schedule(at when: NIODeadline, context: ChannelHandlerContext) {
        timerFires = when
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: when) { [self] in
            timer = nil
            timerFires = nil
            guard !closed, let deadline, let context = self.context else { return }
            if deadline > .now() {
                schedule(at: deadline, context: context)
                return
            }
            timedOut(context)
        }
    }

    private func timedOut(_ context: ChannelHandlerContext) {
        deadline = nil
        if lingering {
            context.close(promise: nil)
        } else if headsRead > endsRead {
            metrics.recordConnectionTimeout("body")
            // An answer already under way cannot be replaced; otherwise the client learns why.
            if answering { context.close(promise: nil) } else {
                let part = bodyTooSlow ? "body (slower than \(limits.minBodyBytesPerSecond) bytes/s)" : "body"
                answerAndClose(.requestTimeout(part: part, seconds: limits.bodyTimeoutSeconds), context: context)
            }
        } else if awaitingFirstByte {
            metrics.recordConnectionTimeout("idle")
            context.close(promise: nil)
        } else if headsRead == endsRead, answersDone >= endsRead {
            metrics.recordConnectionTimeout("header")
            answerAndClose(.requestTimeout(part: "headers", seconds: limits.headerTimeoutSeconds), context: context)
        }
    }

    /// Writes `error` as the connection's last answer and closes once it is out.
    private func answerAndClose(_ error: APIError, context: ChannelHandlerContext) {
        closed = true
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.connection] = "close"
        let body = ByteBuffer(string: error.body)
        fields[.contentLength] = "\(body.readableBytes)"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: error.status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    private static func asksToClose(_ fields: HTTPFields) -> Bool {
        fields[values: .connection].contains { $0.lowercased().split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "close" } }
    }
}

/// Tells its `ConnectionGuard` when bytes arrive from the socket, before HTTP decoding. It holds
/// the guard strongly; the guard does not hold it, so the pair is freed with the pipeline.
private final class ByteWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let owner: ConnectionGuard

    init(owner: ConnectionGuard) { self.owner = owner }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        owner.bytesArrived()
        context.fireChannelRead(data)
    }
}
