import EarshotTestSupport
@testable import EarshotServer
import Foundation
import NIOCore
import Testing

/// Sockets under slow, idle, lying and departing clients: every connection ends within its
/// timeouts, an early answer closes its connection, and connections are bounded per address.
/// Clients are raw loopback sockets (`RawConnection`); every wait is bounded.
@Suite(.serialized) struct ConnectionHardeningTests {
    /// A multipart upload head declaring `length` body bytes.
    static func uploadHead(length: Int, boundary: String = "b0undary", extra: String = "") -> String {
        "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Content-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(length)\r\n\(extra)\r\n"
    }

    /// The client reads the early 413 and leaves mid-upload: the server's socket goes too. A client
    /// that stops sending but stays connected is dropped after the grace period (it used to be held
    /// until the process exited).
    @Test func anEarly413ClosesTheConnectionAndFreesTheSocket() async throws {
        let server = try await RunningServer.start { $0.maxUploadMB = 1 }
        let client = try await RawConnection.open(port: server.port)
        await client.send("POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          + "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: 0x61, count: 0x10000) + Array("\r\n".utf8)
        // The whole 2.5 MB upload is written at once; the client then leaves with part of it unsent.
        for _ in 0..<40 { client.sendWithoutWaiting(chunk) }
        #expect(await client.waitFor("\r\n\r\n", seconds: 10))
        #expect(client.text.hasPrefix("HTTP/1.1 413"), "\(client.text.prefix(200))")
        #expect(client.text.lowercased().contains("connection: close"))
        let clientPort = client.localPort
        await client.close()
        let freed = await Poll.until(seconds: 10) { ServerSockets.state(serverPort: server.port, clientPort: clientPort) == nil }
        #expect(freed, "server still holds the socket: \(ServerSockets.state(serverPort: server.port, clientPort: clientPort) ?? "-")")
        // A client that stays connected but stops sending is dropped after the grace period too.
        let stays = try await RawConnection.open(port: server.port)
        await stays.send(Self.uploadHead(length: 2_400_000))
        #expect(await stays.waitUntilClosed(seconds: 10))
        #expect(stays.text.hasPrefix("HTTP/1.1 413"))
        #expect(try await server.transcribe(.audio("short")).status == 200)
        try await server.stop()
    }

    /// A Content-Length larger than the body sent: 408 within the body timeout, then close.
    @Test func aBodyShorterThanItsContentLengthTimesOut() async throws {
        let server = try await RunningServer.start { $0.connections.bodyTimeoutSeconds = 1 }
        let client = try await RawConnection.open(port: server.port)
        await client.send(Self.uploadHead(length: 1000) + "--b0undary\r\n")
        #expect(await client.waitUntilClosed(seconds: 8))
        #expect(client.text.hasPrefix("HTTP/1.1 408"), "\(client.text.prefix(200))")
        #expect(client.text.contains("request_timeout"))
        #expect(try await server.get("/metrics").body.contains(#"earshot_connection_timeouts_total{phase="body"} 1"#))
        try await server.stop()
    }

    /// Sends `piece(i)` every `every`, at most `times` times, until the server closes; returns how long it went on.
    static func trickle(_ client: RawConnection, times: Int, every: Duration,
                        _ piece: (Int) -> String) async throws -> Duration {
        let started = ContinuousClock.now
        for i in 0..<times where !client.closedByServer {
            await client.send(piece(i))
            try await Task.sleep(for: every)
        }
        return ContinuousClock.now - started
    }

    /// A body that never pauses long enough for the body timeout but trickles (20 bytes/s against a
    /// minimum of 100) is cut once its whole time passes `bodyTimeout` + received / rate (about
    /// 2.5 s here); without the rule it would be held as long as its Content-Length allows.
    @Test func aTricklingBodyIsCutAtTheMinimumRate() async throws {
        let server = try await RunningServer.start {
            $0.connections.bodyTimeoutSeconds = 2; $0.connections.minBodyBytesPerSecond = 100
        }
        let client = try await RawConnection.open(port: server.port)
        await client.send(Self.uploadHead(length: 1_000_000) + "--b0undary\r\n")
        let took = try await Self.trickle(client, times: 40, every: .milliseconds(500)) { _ in "0123456789" }
        #expect(client.closedByServer)
        #expect(took < .seconds(8))
        #expect(client.text.hasPrefix("HTTP/1.1 408"), "\(client.text.prefix(200))")
        #expect(client.text.contains("slower than 100 bytes/s"), "\(client.text.prefix(400))")
        #expect(try await server.get("/metrics").body.contains(#"earshot_connection_timeouts_total{phase="body"} 1"#))
        try await server.stop()
    }

    /// Headers dribbled a line at a time, an idle connection, and a never-ending slow chunked body
    /// each end within their timeouts.
    @Test func slowAndIdleClientsAreCut() async throws {
        let server = try await RunningServer.start {
            $0.connections.headerTimeoutSeconds = 1; $0.connections.idleTimeoutSeconds = 1; $0.connections.bodyTimeoutSeconds = 1
        }
        let dribbler = try await RawConnection.open(port: server.port)
        await dribbler.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let took = try await Self.trickle(dribbler, times: 40, every: .milliseconds(250)) { "X-Slow-\($0): 1\r\n" }
        #expect(dribbler.closedByServer)
        #expect(took < .seconds(5))
        #expect(dribbler.text.hasPrefix("HTTP/1.1 408"), "\(dribbler.text.prefix(200))")

        let idle = try await RawConnection.open(port: server.port)
        #expect(await idle.waitUntilClosed(seconds: 5))
        #expect(idle.text.isEmpty)

        // Keep-alive: after a full answer the idle timer applies again.
        let keepAlive = try await RawConnection.open(port: server.port)
        await keepAlive.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(await keepAlive.waitFor(#"{"status":"ok"}"#, seconds: 5))
        #expect(await keepAlive.waitUntilClosed(seconds: 5))

        // A chunked body that trickles one chunk every 1.5 s never completes: cut by the body timeout.
        let trickle = try await RawConnection.open(port: server.port)
        await trickle.send("POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           + "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in 0..<6 where !trickle.closedByServer {
            await trickle.send("4\r\nabcd\r\n")
            try await Task.sleep(for: .milliseconds(1500))
        }
        #expect(trickle.closedByServer)
        #expect(trickle.text.hasPrefix("HTTP/1.1 408"), "\(trickle.text.prefix(200))")
        let metrics = try await server.get("/metrics").body
        for phase in ["header", "idle", "body"] {
            #expect(metrics.contains(#"earshot_connection_timeouts_total{phase="\#(phase)"}"#), "\(phase)")
        }
        try await server.stop()
    }

    /// A fast never-ending chunked body is cut at the upload limit: 413, and the server closes
    /// rather than reading on. Once the client leaves, the server's socket goes: it used to stay in
    /// FIN-WAIT-2 until exit (the server had stopped reading, so the client's FIN waited behind
    /// the unread upload).
    @Test func aNeverEndingChunkedBodyIsCutAtTheUploadLimit() async throws {
        let server = try await RunningServer.start { $0.maxUploadMB = 1 }
        let client = try await RawConnection.open(port: server.port)
        await client.send("POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          + "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: 0x61, count: 0x10000) + Array("\r\n".utf8)
        var sentMB = 0.0
        for _ in 0..<512 {   // 32 MB at most
            guard !client.closedByServer, await client.send(chunk) else { break }
            sentMB += 1.0 / 16
        }
        #expect(await client.waitUntilClosed(seconds: 10), "sent \(sentMB) MB")
        #expect(client.text.hasPrefix("HTTP/1.1 413"), "\(client.text.prefix(200))")
        #expect(sentMB < 32)
        await client.close()
        let clientPort = client.localPort
        let freed = await Poll.until(seconds: 10) { ServerSockets.state(serverPort: server.port, clientPort: clientPort) == nil }
        #expect(freed, "server still holds the socket: \(ServerSockets.state(serverPort: server.port, clientPort: clientPort) ?? "-")")
        try await server.stop()
    }

    /// Oversized request headers: 400 and close, before any route runs.
    @Test func requestHeadersAreBoundedInSizeAndCount() async throws {
        let server = try await RunningServer.start { $0.connections.maxHeaders = 50; $0.connections.maxHeaderBytes = 8192 }
        let many = try await RawConnection.open(port: server.port)
        await many.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (0..<60).map { "X-H\($0): v\r\n" }.joined() + "\r\n")
        #expect(await many.waitUntilClosed(seconds: 5))
        #expect(many.text.hasPrefix("HTTP/1.1 400"), "\(many.text.prefix(200))")
        let big = try await RawConnection.open(port: server.port)
        await big.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: \(String(repeating: "x", count: 20_000))\r\n\r\n")
        #expect(await big.waitUntilClosed(seconds: 5))
        #expect(big.text.hasPrefix("HTTP/1.1 400"), "\(big.text.prefix(200))")
        // Within the limits all is well.
        let fine = try await RawConnection.open(port: server.port)
        await fine.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (0..<40).map { "X-H\($0): v\r\n" }.joined() + "\r\n")
        #expect(await fine.waitFor(#"{"status":"ok"}"#, seconds: 5))
        await fine.close()
        try await server.stop()
    }

    /// A slowloris client holding 200 dribbling connections from one address gets its per-address
    /// share; the rest are refused (and counted), and other clients keep being served.
    @Test func slowlorisConnectionsAreBoundedPerAddress() async throws {
        let server = try await RunningServer.start {
            $0.connections.maxConnectionsPerIP = 16; $0.connections.headerTimeoutSeconds = 60
        }
        _ = try await server.post("/v1/models/tiny/load")
        var attackers: [RawConnection] = []
        for _ in 0..<200 {
            let c = try await RawConnection.open(port: server.port, from: "127.0.0.2")
            await c.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            attackers.append(c)
        }
        // Refused connections are answered 503 and closed at once.
        let settled = await Poll.until(seconds: 10) { attackers.filter(\.closedByServer).count == 184 }
        #expect(settled, "closed: \(attackers.filter(\.closedByServer).count)")
        #expect(attackers.first { $0.closedByServer }?.text.hasPrefix("HTTP/1.1 503") == true)
        var worst = Duration.zero
        for _ in 0..<20 {
            let started = ContinuousClock.now
            #expect(try await server.get("/health").status == 200)
            worst = max(worst, ContinuousClock.now - started)
        }
        let real = try await server.transcribe(.audio("short"))
        #expect(real.status == 200)
        let metrics = try await server.get("/metrics").body
        #expect(metrics.contains(#"earshot_connections_refused_total{reason="per_ip"} 184"#))
        let open = metrics.split(separator: "\n").first { $0.hasPrefix("earshot_connections_open ") }
        let openCount = open.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        #expect(openCount >= 16 && openCount < 40, "\(open ?? "none")")
        print("slowloris: 200 connections from 127.0.0.2, 184 refused; /health worst of 20: \(worst); transcription \(real.status)")
        for c in attackers { await c.close() }
        try await server.stop()
    }

    @Test func theRegistryCountsPerAddressAndInTotal() {
        let registry = ConnectionRegistry(maxTotal: 3, maxPerAddress: 2)
        #expect(registry.admit("a") == nil && registry.admit("a") == nil)
        #expect(registry.admit("a") == .perIP)
        #expect(registry.admit("b") == nil)
        #expect(registry.admit("c") == .total)
        #expect(registry.refused == [.perIP: 1, .total: 1])
        registry.release("a")
        #expect(registry.admit("c") == nil)
        #expect(registry.open == 3)
    }
}
