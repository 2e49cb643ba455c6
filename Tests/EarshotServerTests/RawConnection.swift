import EarshotTestSupport
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A bare TCP client on loopback, for what an HTTP client library will not do: dribble headers,
/// promise more body than it sends, stop mid-upload, hold connections open. It records every byte
/// the server sends and whether the server closed the connection.
final class RawConnection: Sendable {
    let channel: any Channel
    /// The client's port, which names its connection on the server's side.
    let localPort: Int
    private let received: Received

    private init(channel: any Channel, received: Received) {
        self.channel = channel; self.received = received
        localPort = channel.localAddress?.port ?? 0
    }

    /// Connects to `127.0.0.1:port`, from the loopback address `source` when given (all of
    /// 127.0.0.0/8 is loopback on Linux, so a second "client address" needs no network).
    static func open(port: Int, from source: String? = nil) async throws -> RawConnection {
        let received = Received()
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(received)) }
            }
        if let source { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0)) }
        let channel = try await bootstrap.connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, received: received)
    }

    /// Sends `bytes`; false when the connection is gone.
    @discardableResult
    func send(_ bytes: [UInt8]) async -> Bool {
        (try? await channel.writeAndFlush(ByteBuffer(bytes: bytes))) != nil
    }

    @discardableResult
    func send(_ text: String) async -> Bool { await send(Array(text.utf8)) }

    /// Queues `bytes` without waiting for the kernel to take them (a server that stops reading
    /// would otherwise block the test): what a client that writes its whole upload at once does.
    func sendWithoutWaiting(_ bytes: [UInt8]) {
        channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
    }

    func close() async { try? await channel.close() }

    /// What the server sent so far.
    var text: String { String(decoding: received.state.withLock { $0.bytes }, as: UTF8.self) }
    var closedByServer: Bool { received.state.withLock { $0.closed } }

    /// Waits up to `seconds` for the server to close the connection.
    func waitUntilClosed(seconds: Double) async -> Bool {
        await Poll.until(seconds: seconds) { self.closedByServer }
    }

    /// Waits up to `seconds` for `text` in what the server sent.
    func waitFor(_ text: String, seconds: Double) async -> Bool {
        await Poll.until(seconds: seconds) { self.text.contains(text) }
    }
}

private final class Received: Sendable {
    let state = Mutex<(bytes: [UInt8], closed: Bool)>(([], false))
}

private final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let received: Received
    init(_ received: Received) { self.received = received }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        received.state.withLock { $0.bytes += buffer.readableBytesView }
    }

    func channelInactive(context: ChannelHandlerContext) {
        received.state.withLock { $0.closed = true }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

/// The server's end of loopback TCP connections, read from /proc/net/tcp: which connections
/// the server still holds a socket (an inode, i.e. a file descriptor) for, and in what state.
enum ServerSockets {
    /// States by /proc/net/tcp code.
    static let stateNames = ["01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
                             "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"]

    /// The state of the server's socket for the client at `clientPort`, if the server still holds one.
    static func state(serverPort: Int, clientPort: Int) -> String? {
        held(serverPort: serverPort).first { $0.clientPort == clientPort }?.state
    }

    /// Every connection socket (not the listener) the server holds on `serverPort`.
    static func held(serverPort: Int) -> [(clientPort: Int, state: String)] {
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return [] }
        var result: [(Int, String)] = []
        for line in table.split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count > 9, let local = f[1].split(separator: ":").last, Int(local, radix: 16) == serverPort,
                  let remote = f[2].split(separator: ":").last, let clientPort = Int(remote, radix: 16),
                  f[3] != "0A", f[9] != "0" else { continue }
            result.append((clientPort, stateNames[String(f[3])] ?? String(f[3])))
        }
        return result
    }
}
