import EarshotAudio
import EarshotModels
import EarshotRuntime
import Foundation
import Hummingbird
import NIOCore

/// Every way a request can fail, each with its HTTP status and the OpenAI error body
/// `{"error": {"message", "type", "code"}}`. All status mapping happens here.
public enum APIError: Error, Sendable, Equatable, CustomStringConvertible {
    case uploadTooLarge(limitBytes: Int)
    /// A malformed request: missing or bad field, bad multipart body. `code` names the field or problem.
    case badRequest(String, code: String)
    /// The upload is not audio we can decode.
    case invalidAudio(String)
    /// The audio is longer than the server's `max_audio_seconds`.
    case audioTooLong(String)
    case unknownModel(String, known: [String])
    case routeNotFound(String)
    /// The model cannot be loaded within the memory budget or the machine's free memory.
    case insufficientMemory(String)
    /// The model's files are broken; nothing else was touched.
    case modelLoadFailed(String)
    /// A loaded model's weight file was truncated or rewritten in place on disk: it is not used
    /// again until it is reloaded (using it could fault on the missing pages).
    case modelFilesChanged(String)
    /// The requested lifecycle change is not possible now (e.g. unloading a model that is loading).
    case conflict(String)
    case queueFull(retryAfterSeconds: Int)
    case timeout(seconds: Double)
    /// The client sent its request headers or body too slowly (`part` is "headers" or "body").
    case requestTimeout(part: String, seconds: Double)
    /// The connection was refused: its address, or all clients together, hold the most connections allowed.
    case tooManyConnections(perAddress: Bool)
    case unauthorized
    case shuttingDown
    /// The client went away before the answer (nobody reads this one; it is for logs and metrics).
    case clientClosedRequest
    case internalError(String)

    public var status: HTTPResponse.Status {
        switch self {
        case .uploadTooLarge: return .contentTooLarge
        case .badRequest, .invalidAudio, .audioTooLong: return .badRequest
        case .unknownModel, .routeNotFound: return .notFound
        case .insufficientMemory: return HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
        case .modelLoadFailed: return .internalServerError
        case .modelFilesChanged: return .serviceUnavailable
        case .conflict: return .conflict
        case .queueFull: return .tooManyRequests
        case .timeout: return .gatewayTimeout
        case .requestTimeout: return .requestTimeout
        case .tooManyConnections: return .serviceUnavailable
        case .unauthorized: return .unauthorized
        case .shuttingDown: return .serviceUnavailable
        case .clientClosedRequest: return HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")
        case .internalError: return .internalServerError
        }
    }

    /// OpenAI's `type` field.
    public var type: String {
        switch self {
        case .unauthorized: return "authentication_error"
        case .queueFull, .tooManyConnections: return "rate_limit_error"
        case .insufficientMemory, .modelLoadFailed, .modelFilesChanged, .timeout, .shuttingDown, .internalError: return "server_error"
        default: return "invalid_request_error"
        }
    }

    /// A stable machine-readable code, also the `reason` label of the rejection metric.
    public var code: String {
        switch self {
        case .uploadTooLarge: return "file_too_large"
        case .badRequest(_, let code): return code
        case .invalidAudio: return "invalid_audio"
        case .audioTooLong: return "audio_too_long"
        case .unknownModel: return "model_not_found"
        case .routeNotFound: return "not_found"
        case .insufficientMemory: return "insufficient_memory"
        case .modelLoadFailed: return "model_load_failed"
        case .modelFilesChanged: return "model_files_changed"
        case .conflict: return "conflict"
        case .queueFull: return "queue_full"
        case .timeout: return "timeout"
        case .requestTimeout: return "request_timeout"
        case .tooManyConnections: return "too_many_connections"
        case .unauthorized: return "invalid_api_key"
        case .shuttingDown: return "shutting_down"
        case .clientClosedRequest: return "client_closed_request"
        case .internalError: return "internal_error"
        }
    }

    public var description: String {
        switch self {
        case .uploadTooLarge(let limit): return "the upload exceeds the limit of \(limit / (1 << 20)) MB"
        case .badRequest(let m, _), .invalidAudio(let m), .audioTooLong(let m), .insufficientMemory(let m), .modelLoadFailed(let m), .modelFilesChanged(let m),
             .conflict(let m), .internalError(let m): return m
        case .unknownModel(let name, let known):
            return "the model '\(name.prefix(200))' does not exist; available: \(known.sorted().joined(separator: ", "))"
        case .routeNotFound(let path): return "no such endpoint: \(path)"
        case .queueFull(let s): return "too many requests are waiting; retry in \(s) s"
        case .timeout(let s): return "the transcription did not finish within \(s) s and was cancelled"
        case .requestTimeout(let part, let s): return "the request \(part) did not arrive within \(s) s; the connection is closed"
        case .tooManyConnections(let perAddress):
            return perAddress ? "too many connections from this address; close idle ones and retry"
                              : "the server has too many connections open; retry shortly"
        case .unauthorized: return "missing or incorrect API key (send Authorization: Bearer KEY)"
        case .shuttingDown: return "the server is shutting down"
        case .clientClosedRequest: return "the client closed the connection; its transcription was cancelled"
        }
    }

    /// The JSON error body.
    public var body: String {
        struct Envelope: Encodable {
            struct Inner: Encodable { let message, type, code: String }
            let error: Inner
        }
        let data = (try? Self.encoder.encode(Envelope(error: .init(message: description, type: type, code: code)))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// Maps any error thrown while serving a request to the API error it means.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as RuntimeError: return from(e)
        case let e as AudioError: return from(e)
        case let e as MultipartError: return .badRequest("invalid multipart/form-data body: \(e)", code: "invalid_multipart")
        case let e as HTTPError where e.status == .notFound: return .routeNotFound(e.body ?? "")
        case let e as HTTPError: return .badRequest(e.body ?? "\(e.status)", code: "bad_request")
        case is CancellationError: return .clientClosedRequest
        default: return .internalError("\(error)")
        }
    }

    /// Audio errors: too long, out of time and cancelled have their own answers; the rest say what
    /// is wrong with the upload.
    static func from(_ error: AudioError) -> APIError {
        switch error {
        case .tooLong: return .audioTooLong(error.description)
        case .timedOut(_, let seconds): return .timeout(seconds: seconds)
        case .cancelled: return .clientClosedRequest
        case .allocationFailed: return .insufficientMemory(error.description)
        default: return .invalidAudio(error.description)
        }
    }

    static func from(_ error: RuntimeError) -> APIError {
        switch error {
        case .audio(let e): return from(e)
        case .unknownModel(let name, let known): return .unknownModel(name, known: known)
        case .overBudget, .insufficientMemory: return .insufficientMemory(error.description)
        case .model(.unknownLanguage): return .badRequest(error.description, code: "unsupported_language")
        case .model(.unsupportedOption): return .badRequest(error.description, code: "unsupported_option")
        case .invalidOption: return .badRequest(error.description, code: "invalid_option")
        case .unalignable: return .badRequest(error.description, code: "unalignable")
        case .model(.audioTooShort): return .invalidAudio(error.description)
        case .model(.weightsChanged): return .modelFilesChanged(error.description)
        case .loadFailed, .model: return .modelLoadFailed(error.description)
        case .illegalTransition, .notLoaded, .conflictingRegistration: return .conflict(error.description)
        case .cancelled: return .clientClosedRequest
        }
    }
}
