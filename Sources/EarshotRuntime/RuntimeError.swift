import EarshotAudio
import EarshotModels

/// Errors surfaced by the runtime: every lower layer's typed error, wrapped with its context.
public enum RuntimeError: Error, Sendable, CustomStringConvertible {
    case audio(AudioError)
    case model(ModelError)
    case cancelled

    public var description: String {
        switch self {
        case .audio(let e): return "\(e)"
        case .model(let e): return "\(e)"
        case .cancelled: return "transcription was cancelled"
        }
    }
}
