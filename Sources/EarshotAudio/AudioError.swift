import EarshotTensor
import Foundation

/// Everything that can go wrong between "here is a file" and "here are log-mel features".
///
/// Every case names the input (file name or the caller's hint) and says what is wrong, so the
/// message can be shown to a user as-is. Decoding never traps on bad input: it throws one of these.
public enum AudioError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist.
    case fileNotFound(path: String)
    /// The file exists but cannot be read or mapped.
    case unreadable(path: String, reason: String)
    /// The file ends before a structure it declares (header, chunk, first sample frame).
    case truncated(name: String, reason: String)
    /// A header field is impossible or inconsistent (bad magic, zero channels, wrong block align...).
    case corruptHeader(name: String, reason: String)
    /// The file is well formed but holds no samples.
    case emptyAudio(name: String)
    /// A WAV encoding this reader does not decode (A-law, ADPCM, ...), named by its format code.
    case unsupportedEncoding(name: String, formatCode: Int, reason: String)
    /// A float sample that is NaN or infinite. `index` is the sample index in the data chunk
    /// (interleaved, counting every channel).
    case invalidSample(name: String, index: Int, value: String)
    /// An external decoder program (ffmpeg) was not found on the search path.
    case decoderMissing(String, String)
    /// The external decoder ran but failed; `stderr` is its (truncated) error output.
    case decoderFailed(name: String, tool: String, status: Int32, stderr: String)
    /// A parameter passed by the caller is out of range (sample rate, mel bins, ...).
    case invalidParameter(String)
    /// The input has too few samples for the requested operation.
    case tooShort(name: String, samples: Int, minimum: Int)
    /// A page buffer could not be allocated.
    case allocationFailed(bytes: Int, reason: String)
    /// The bytes are not a container Earshot decodes (a playlist, text, an unknown format).
    case unsupportedFormat(name: String, reason: String)
    /// The audio is longer than the caller's limit: `seconds` is what the header declares, or nil
    /// when decoding was stopped at the limit (the real length is then unknown).
    case tooLong(name: String, seconds: Double?, limitSeconds: Double)
    /// The caller cancelled decoding (client gone, shutdown); any decoder process was killed.
    case cancelled(name: String)
    /// Decoding did not finish before the caller's deadline; any decoder process was killed.
    case timedOut(name: String, seconds: Double)

    public var description: String {
        switch self {
        case .fileNotFound(let p): return "audio file not found: \(p)"
        case .unreadable(let p, let r): return "cannot read audio file \(p): \(r)"
        case .truncated(let n, let r): return "\(n): truncated audio file: \(r)"
        case .corruptHeader(let n, let r): return "\(n): corrupt audio header: \(r)"
        case .emptyAudio(let n): return "\(n): audio has no samples (zero-length data)"
        case .unsupportedEncoding(let n, let code, let r):
            return "\(n): unsupported WAV encoding, format code 0x\(String(code, radix: 16, uppercase: true)) (\(r))"
        case .invalidSample(let n, let i, let v): return "\(n): sample \(i) is \(v); audio must be finite"
        case .decoderMissing(let tool, let detail): return "\(tool) not found: \(detail)"
        case .decoderFailed(let n, let tool, let status, let err):
            return "\(n): \(tool) exited with status \(status): \(err)"
        case .invalidParameter(let r): return "invalid audio parameter: \(r)"
        case .tooShort(let n, let s, let m): return "\(n): audio has \(s) samples, at least \(m) are needed"
        case .allocationFailed(let b, let r): return "cannot allocate \(b) bytes for audio: \(r)"
        case .unsupportedFormat(let n, let r): return "\(n): unsupported audio format: \(r)"
        case .tooLong(let n, let s?, let limit):
            return "\(n): audio is \(String(format: "%.0f", s)) s long; the limit is \(String(format: "%g", limit)) s"
        case .tooLong(let n, nil, let limit):
            return "\(n): audio is longer than the limit of \(String(format: "%g", limit)) s (decoding stopped there)"
        case .cancelled(let n): return "\(n): decoding was cancelled"
        case .timedOut(let n, let s): return "\(n): decoding did not finish within \(String(format: "%g", s)) s"
        }
    }
}

extension AudioError {
    /// Maps a page-buffer failure into this domain, keeping the reason.
    static func from(_ error: TensorError, path: String) -> AudioError {
        switch error {
        case .fileNotFound(let p): return .fileNotFound(path: p)
        case .allocationFailed(let b, let r): return .allocationFailed(bytes: b, reason: r)
        case .mapFailed(let p, let r): return .unreadable(path: p, reason: r)
        default: return .unreadable(path: path, reason: error.description)
        }
    }
}

/// Allocates an owned `.audio` page buffer for `count` floats, mapping the error.
func makeFloatBuffer(count: Int) throws(AudioError) -> PageBuffer {
    guard count >= 0, count <= Int.max / 8 else {
        throw .allocationFailed(bytes: count, reason: "size overflow")
    }
    do {
        return try PageBuffer(byteCount: count * MemoryLayout<Float>.stride, owner: .audio)
    } catch {
        throw AudioError.from(error, path: "<memory>")
    }
}
