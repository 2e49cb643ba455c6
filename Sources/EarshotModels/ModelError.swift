import EarshotTensor

/// Errors from loading and running models. Each names the file, tensor or value at fault.
public enum ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    case notAModelDirectory(path: String, reason: String)
    case unsupportedModelType(path: String, modelType: String, supported: [String])
    /// A checkpoint of another family than the caller needs (a forced aligner given as an ASR model).
    case wrongFamily(path: String, found: String, expected: String)
    case invalidConfig(path: String, reason: String)
    case missingTensor(name: String)
    case unexpectedTensor(name: String)
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    case unsupportedDType(tensor: String, dtype: String)
    case weights(TensorError)
    case container(GGUFError)
    case ctranslate2(CTranslate2Error)
    case onnx(ONNXError)
    case unknownLanguage(String, supported: [String])
    case audioTooShort(samples: Int)
    case promptTooLong(tokens: Int, limit: Int)
    case placeholderMismatch(expected: Int, found: Int)
    case tokenizer(String)
    /// An option this model family does not support (named in the message).
    case unsupportedOption(String)
    /// A config or vocabulary file larger than Earshot reads (refused before reading it).
    case fileTooLarge(path: String, bytes: Int, limit: Int)
    /// A model file that exists but cannot be read: a directory, FIFO or device, or an I/O error.
    case unreadableFile(path: String, reason: String)
    /// A weight file was truncated or rewritten in place after it was mapped: the model is not
    /// used (reading lost pages would raise SIGBUS); unload and load it again.
    case weightsChanged(String)

    public var description: String {
        switch self {
        case .notAModelDirectory(let p, let r): return "\(p) is not a model directory: \(r)"
        case .unsupportedModelType(let p, let t, let s):
            return "\(p): model_type '\(t)' is not supported (supported: \(s.joined(separator: ", ")))"
        case .wrongFamily(let p, let f, let e): return "\(p) is a \(f) checkpoint, not a \(e) one"
        case .invalidConfig(let p, let r): return "\(p): invalid config: \(r)"
        case .missingTensor(let n): return "checkpoint is missing tensor '\(n)'"
        case .unexpectedTensor(let n): return "checkpoint has unexpected tensor '\(n)'"
        case .shapeMismatch(let t, let e, let a): return "tensor '\(t)' has shape \(a), expected \(e)"
        case .unsupportedDType(let t, let d): return "tensor '\(t)' has unsupported dtype \(d)"
        case .weights(let e): return e.description
        case .container(let e): return e.description
        case .ctranslate2(let e): return e.description
        case .onnx(let e): return e.description
        case .unknownLanguage(let l, let s):
            return "unknown language '\(l)'; supported: \(s.joined(separator: ", "))"
        case .audioTooShort(let n): return "audio is too short (\(n) samples); need at least one 10 ms frame"
        case .promptTooLong(let t, let l): return "prompt of \(t) tokens exceeds the session's \(l)-token context"
        case .placeholderMismatch(let e, let f): return "prompt has \(f) audio placeholders, expected \(e)"
        case .tokenizer(let m): return "tokenizer: \(m)"
        case .unsupportedOption(let m): return m
        case .fileTooLarge(let p, let b, let l): return "\(p) is \(b) bytes, more than the \(l) bytes allowed for it; file is corrupt or hostile"
        case .unreadableFile(let p, let r): return "cannot read \(p): \(r)"
        case .weightsChanged(let m): return "\(m); the model is not used until it is loaded again"
        }
    }
}
