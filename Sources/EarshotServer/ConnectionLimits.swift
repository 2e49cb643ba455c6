import Foundation

/// What one client connection may cost the server: how long it may take to send its request
/// line and headers, how long it may pause while sending a body, how long it may sit idle between
/// requests, how many connections one address and all clients together may hold, and how large the
/// request headers may be. Part of `ServerConfiguration` (key `connections` in Swift; the JSON keys
/// and `EARSHOT_*` variables are flat, like every other setting).
///
/// Defaults are generous for real clients (a 25 MB upload over a slow link pauses far less than
/// 30 s between packets) and small enough that slow or idle clients cannot pile up: a client that
/// dribbles its headers is cut after `headerTimeout`, and one address cannot hold more than
/// `maxConnectionsPerIP` sockets however slowly it sends. Behind a reverse proxy every client has
/// the proxy's address: raise `max_connections_per_ip` to `max_connections` there.
public struct ConnectionLimits: Sendable, Codable, Equatable {
    /// Seconds from the first byte of a request to the end of its headers; then 408 and close.
    public var headerTimeoutSeconds: Double = 10
    /// Seconds a request body may go without a byte arriving (a Content-Length larger than what is
    /// sent ends here); then 408 and close.
    public var bodyTimeoutSeconds: Double = 30
    /// The slowest average rate a request body may arrive at, in bytes per second (as Apache's
    /// mod_reqtimeout `MinRate`): the body's whole time is bounded by `bodyTimeout` plus one second
    /// per this many bytes received. Without it a client sending a byte every 29 s would hold a
    /// connection for as long as its Content-Length allows. 0 turns the rule off.
    public var minBodyBytesPerSecond = 1024
    /// Seconds a connection may stay open without a request (before the first and between
    /// keep-alive requests); then it is closed.
    public var idleTimeoutSeconds: Double = 60
    /// Open connections from all clients; beyond it a new connection is answered 503 and closed.
    public var maxConnections = 512
    /// Open connections from one IP address; beyond it likewise.
    public var maxConnectionsPerIP = 64
    /// Bytes of the request line and headers together; beyond it 400 and close.
    public var maxHeaderBytes = 16 * 1024
    /// Header fields in one request; beyond it 400 and close.
    public var maxHeaders = 100

    public init() {}

    enum CodingKeys: String, CodingKey {
        case headerTimeoutSeconds = "header_timeout", bodyTimeoutSeconds = "body_timeout", idleTimeoutSeconds = "idle_timeout"
        case minBodyBytesPerSecond = "min_body_rate"
        case maxConnections = "max_connections", maxConnectionsPerIP = "max_connections_per_ip"
        case maxHeaderBytes = "max_header_bytes", maxHeaders = "max_headers"
    }

    /// Reads the flat keys of the configuration file (the same JSON object as the other settings).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ConnectionLimits()
        headerTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .headerTimeoutSeconds) ?? d.headerTimeoutSeconds
        bodyTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .bodyTimeoutSeconds) ?? d.bodyTimeoutSeconds
        idleTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .idleTimeoutSeconds) ?? d.idleTimeoutSeconds
        minBodyBytesPerSecond = try c.decodeIfPresent(Int.self, forKey: .minBodyBytesPerSecond) ?? d.minBodyBytesPerSecond
        maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? d.maxConnections
        maxConnectionsPerIP = try c.decodeIfPresent(Int.self, forKey: .maxConnectionsPerIP) ?? d.maxConnectionsPerIP
        maxHeaderBytes = try c.decodeIfPresent(Int.self, forKey: .maxHeaderBytes) ?? d.maxHeaderBytes
        maxHeaders = try c.decodeIfPresent(Int.self, forKey: .maxHeaders) ?? d.maxHeaders
    }

    /// Overlays EARSHOT_HEADER_TIMEOUT, EARSHOT_BODY_TIMEOUT, EARSHOT_MIN_BODY_RATE, EARSHOT_IDLE_TIMEOUT,
    /// EARSHOT_MAX_CONNECTIONS, EARSHOT_MAX_CONNECTIONS_PER_IP, EARSHOT_MAX_HEADER_BYTES, EARSHOT_MAX_HEADERS.
    public mutating func apply(environment env: [String: String]) throws(ServerConfigurationError) {
        func value<T: LosslessStringConvertible>(_ key: String, _ type: T.Type) throws(ServerConfigurationError) -> T? {
            guard let text = env["EARSHOT_" + key] else { return nil }
            guard let parsed = T(text) else { throw .invalidValue("EARSHOT_" + key, text) }
            return parsed
        }
        if let v = try value("HEADER_TIMEOUT", Double.self) { headerTimeoutSeconds = v }
        if let v = try value("BODY_TIMEOUT", Double.self) { bodyTimeoutSeconds = v }
        if let v = try value("IDLE_TIMEOUT", Double.self) { idleTimeoutSeconds = v }
        if let v = try value("MIN_BODY_RATE", Int.self) { minBodyBytesPerSecond = v }
        if let v = try value("MAX_CONNECTIONS", Int.self) { maxConnections = v }
        if let v = try value("MAX_CONNECTIONS_PER_IP", Int.self) { maxConnectionsPerIP = v }
        if let v = try value("MAX_HEADER_BYTES", Int.self) { maxHeaderBytes = v }
        if let v = try value("MAX_HEADERS", Int.self) { maxHeaders = v }
    }

    /// Rejects limits that cannot work, naming the setting and its range.
    public func validate() throws(ServerConfigurationError) {
        // A day bounds the timers (and keeps the conversion to nanoseconds far from overflow).
        for (key, seconds) in [("header_timeout", headerTimeoutSeconds), ("body_timeout", bodyTimeoutSeconds),
                               ("idle_timeout", idleTimeoutSeconds)] {
            guard seconds.isFinite, seconds > 0, seconds <= 86_400 else {
                throw .invalidValue(key, "\(seconds) (a number of seconds in (0, 86400])")
            }
        }
        guard (0...(1 << 30)).contains(minBodyBytesPerSecond) else {
            throw .invalidValue("min_body_rate", "\(minBodyBytesPerSecond) (bytes per second, 0...1073741824; 0: no minimum)")
        }
        guard (1...1_000_000).contains(maxConnections) else {
            throw .invalidValue("max_connections", "\(maxConnections) (1...1000000)")
        }
        guard (1...maxConnections).contains(maxConnectionsPerIP) else {
            throw .invalidValue("max_connections_per_ip", "\(maxConnectionsPerIP) (1...max_connections, \(maxConnections))")
        }
        guard (1024...(1 << 20)).contains(maxHeaderBytes) else {
            throw .invalidValue("max_header_bytes", "\(maxHeaderBytes) (1024...1048576)")
        }
        guard (8...10_000).contains(maxHeaders) else { throw .invalidValue("max_headers", "\(maxHeaders) (8...10000)") }
    }
}
