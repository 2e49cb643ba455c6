import EarshotAudio
import EarshotModels

/// Errors surfaced by the runtime: every lower layer's typed error wrapped with its context, and
/// the model manager's lifecycle errors.
public enum RuntimeError: Error, Sendable, CustomStringConvertible {
    case audio(AudioError)
    case model(ModelError)
    case cancelled
    /// No model registered under this name.
    case unknownModel(String, known: [String])
    /// The operation needs the model loaded and it is not.
    case notLoaded(String)
    /// The model's lifecycle does not allow this transition (see `ModelManager`).
    case illegalTransition(model: String, from: ModelState, to: ModelState)
    /// Loading would exceed the manager's memory budget even after evicting idle models.
    case overBudget(model: String, neededBytes: Int, budgetBytes: Int, inUseBytes: Int)
    /// Loading would exceed the memory the machine has available.
    case insufficientMemory(model: String, neededBytes: Int, availableBytes: Int)
    /// The model's files could not be loaded; models already loaded are untouched.
    case loadFailed(model: String, ModelError)
    /// The name is already registered for another directory.
    case conflictingRegistration(String, existing: String, requested: String)
    /// A numeric option outside its allowed range (see `OptionBounds`), named as the caller spelled it.
    case invalidOption(option: String, value: String, allowed: String)
    /// A transcript and audio the forced aligner cannot pair (audio past its time classes, far
    /// more words than the audio could hold); the reason says which.
    case unalignable(String)

    public var description: String {
        switch self {
        case .audio(let e): return "\(e)"
        case .model(let e): return "\(e)"
        case .cancelled: return "transcription was cancelled"
        case .unknownModel(let n, let known):
            return "unknown model '\(n)'" + (known.isEmpty ? "; no models are registered" : "; known: \(known.sorted().joined(separator: ", "))")
        case .notLoaded(let n): return "model '\(n)' is not loaded"
        case .illegalTransition(let n, let from, let to):
            return "model '\(n)' cannot go from \(from) to \(to)"
        case .overBudget(let n, let need, let budget, let used):
            return "loading '\(n)' needs ~\(mb(need)) but the budget is \(mb(budget)) with \(mb(used)) in use by models that cannot be evicted"
        case .insufficientMemory(let n, let need, let avail):
            return "loading '\(n)' needs ~\(mb(need)) but the machine has only \(mb(avail)) available"
        case .loadFailed(let n, let e): return "could not load '\(n)': \(e)"
        case .conflictingRegistration(let n, let a, let b):
            return "model name '\(n)' is registered for \(a), not \(b)"
        case .invalidOption(let option, let value, let allowed):
            return "\(option) must be in \(allowed), got \(value)"
        case .unalignable(let reason): return "cannot align: \(reason)"
        }
    }
}

private func mb(_ bytes: Int) -> String { "\(bytes / (1 << 20)) MB" }
