import Hummingbird
import Logging

/// Turns every error a route throws into the OpenAI error body with its status (see `APIError`),
/// counts it as a rejection and logs it. Hummingbird would otherwise answer an unknown error with
/// an empty 500.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var apiError = APIError.from(error)
            if case .routeNotFound = apiError { apiError = .routeNotFound("\(request.method) \(request.uri.path.prefix(300))") }
            metrics.recordRejection(apiError)
            let level: Logger.Level = apiError.status.code >= 500 && apiError != .clientClosedRequest ? .error : .info
            context.logger.log(level: level, "request failed",
                               metadata: ["status": "\(apiError.status.code)", "code": "\(LogSafe.escape(apiError.code))",
                                          // Messages quote what the client sent (model ids, field values, paths).
                                          "message": "\(LogSafe.escape(apiError.description))"])
            return apiError.response
        }
    }
}

/// Requires `Authorization: Bearer KEY` on every route except `/health` (which says only that the
/// process answers, for load balancers and orchestrators that hold no key); `/metrics` and
/// `/v1/memory` show models, paths and load, so they need the key like the API. The scheme is
/// case-insensitive (RFC 9110 §11.1: `bearer`, `BEARER` and `Bearer` are the same). The comparison
/// takes the same time wherever the keys differ, so response timing does not leak the key.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: [UInt8]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/health" { return try await next(request, context) }
        guard let header = request.headers[.authorization], let credentials = Self.bearerCredentials(header),
              Self.constantTimeEqual(credentials, key) else {
            throw APIError.unauthorized
        }
        return try await next(request, context)
    }

    /// The token of `Bearer TOKEN` (scheme in any case, one or more spaces after it), or nil.
    static func bearerCredentials(_ header: String) -> [UInt8]? {
        let bytes = Array(header.utf8)
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count, bytes[scheme.count] == UInt8(ascii: " "),
              zip(bytes, scheme).allSatisfy({ ($0 | 0x20) == $1 }) else { return nil }
        return Array(bytes[scheme.count...].drop { $0 == UInt8(ascii: " ") })
    }

    /// Compares every byte of the longer input whatever the differences (length included).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count) | UInt8(truncatingIfNeeded: (a.count ^ b.count) >> 8)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= x ^ y
        }
        return diff == 0 && a.count == b.count
    }
}

extension APIError {
    /// The HTTP response carrying this error (with Retry-After for 429).
    var response: Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if case .queueFull(let seconds) = self { headers[.retryAfter] = "\(seconds)" }
        if case .unauthorized = self { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
