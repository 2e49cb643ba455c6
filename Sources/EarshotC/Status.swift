import EarshotAudio
import EarshotModels
import EarshotRuntime
import EarshotTensor

/// `earshot_status` of `earshot.h`: what every exported function returns.
enum Status: Int32 {
    case ok = 0
    case invalidArgument = 1
    case invalidHandle = 2
    case model = 3
    case audio = 4
    case outOfMemory = 5
    case busy = 6
    case cancelled = 7
    case `internal` = 8
}

/// A failed call: its status and the message `earshot_last_error` will return.
struct ABIError: Error {
    let status: Status
    let message: String

    init(_ status: Status, _ message: String) {
        self.status = status
        self.message = message
    }

    static func invalidArgument(_ message: String) -> ABIError { ABIError(.invalidArgument, message) }

    /// Classifies a runtime error: the caller's mistake, the model's files, the audio, memory.
    init(_ error: RuntimeError) {
        let message = error.description
        switch error {
        case .audio(let e): self.init(Self.status(e), message)
        case .model(let e), .loadFailed(_, let e): self.init(Self.status(e), message)
        case .cancelled: self.init(.cancelled, message)
        case .invalidOption, .unalignable: self.init(.invalidArgument, message)
        case .insufficientMemory, .overBudget: self.init(.outOfMemory, message)
        case .unknownModel, .notLoaded, .illegalTransition, .conflictingRegistration: self.init(.internal, message)
        }
    }

    init(_ error: ModelError) { self.init(Self.status(error), error.description) }

    private static func status(_ e: AudioError) -> Status {
        if case .allocationFailed = e { return .outOfMemory }
        if case .invalidParameter = e { return .invalidArgument }
        if case .cancelled = e { return .cancelled }
        return .audio
    }

    private static func status(_ e: ModelError) -> Status {
        switch e {
        case .unknownLanguage, .unsupportedOption, .promptTooLong: return .invalidArgument
        case .audioTooShort: return .audio
        case .weights(.allocationFailed): return .outOfMemory
        default: return .model
        }
    }
}
