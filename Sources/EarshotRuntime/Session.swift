import EarshotAudio
import EarshotModels
import Foundation
import Synchronization

/// A session turns audio into text with one loaded model of any family (Qwen3-ASR, Whisper), or
/// times a transcript's words with a Qwen3-ForcedAligner (`align`).
///
/// Vocabulary, the same in Swift, the C ABI (`earshot_model`, `earshot_session`) and Python
/// (`Model`, `Session`): a **model** holds read-only weights shared by every session; a
/// **session** serves one request at a time and owns the family's **state** (KV cache and
/// scratch: `Qwen3ASRState`, `WhisperState`), sized on first use and reused by every later
/// request, so the steady state allocates nothing per request beyond the decoded input. Make one
/// session per concurrent stream (they share the model's weights).
///
/// `@unchecked Sendable`: a session is mutable state handed between tasks (the
/// `ModelManager` checks it out to one request at a time and back); it is never used by two tasks
/// at once. The only member touched concurrently is the cancellation flag, which is atomic.
public final class Session: @unchecked Sendable {
    public let model: LoadedModel
    private enum Engine {
        case qwen3ASR(Qwen3ASRSession)
        case whisper(WhisperSession)
        case aligner(AlignerSession)
    }
    private let engine: Engine
    /// Set from any thread to stop the request in flight at the next token (`RuntimeError.cancelled`).
    private let cancelFlag = CancelFlag()

    public init(model: LoadedModel) throws(RuntimeError) {
        self.model = model
        switch model {
        case .qwen3ASR(let m): engine = .qwen3ASR(try Qwen3ASRSession(model: m, cancel: cancelFlag))
        case .whisper(let m): engine = .whisper(try WhisperSession(model: m, cancel: cancelFlag))
        case .qwen3ForcedAligner(let m): engine = .aligner(try AlignerSession(model: m, cancel: cancelFlag))
        }
    }

    /// The forced-aligner engine, when this session's model is one.
    var alignerSession: AlignerSession? {
        if case .aligner(let s) = engine { return s }
        return nil
    }

    public convenience init(model: Qwen3ASRModel) throws(RuntimeError) { try self.init(model: .qwen3ASR(model)) }
    public convenience init(model: WhisperModel) throws(RuntimeError) { try self.init(model: .whisper(model)) }

    /// Decodes and transcribes an audio file (WAV natively; other formats through ffmpeg), within
    /// `audioLimits` (duration, deadline, cancellation of the decode).
    public func transcribe(path: String, options: TranscriptionOptions = .init(), audioLimits: AudioDecodeLimits = .none,
                           onText: ((String) -> Void)? = nil) throws(RuntimeError) -> TranscriptionResult {
        let samples: AudioSamples
        do { samples = try AudioDecoder.load(path: path, limits: audioLimits) } catch { throw .audio(error) }
        return try transcribe(samples, options: options, onText: onText)
    }

    /// Transcribes 16 kHz mono samples. `onText` receives transcript text as it is decoded.
    public func transcribe(_ samples: AudioSamples, options: TranscriptionOptions = .init(),
                           onText: ((String) -> Void)? = nil) throws(RuntimeError) -> TranscriptionResult {
        if alignerSession != nil { throw notATranscriber }
        try OptionBounds.check(options)
        if let filter = options.vad { return try transcribeSpeech(samples, filter: filter, options: options, onText: onText) }
        switch engine {
        case .qwen3ASR(let s): return try s.transcribe(samples, options: options, onText: onText)
        case .whisper(let s): return try s.transcribe(samples, options: options, onText: onText)
        case .aligner: throw notATranscriber
        }
    }

    private var notATranscriber: RuntimeError {
        .model(.unsupportedOption("\(model.directory) is a Qwen3-ForcedAligner: it times a given transcript (align), it does not transcribe"))
    }

    /// Times every word of `text` in 16 kHz mono samples (a Qwen3-ForcedAligner session only; see
    /// `AlignerSession.align`).
    public func align(_ samples: AudioSamples, text: String, language: String? = nil) throws(RuntimeError) -> AlignmentResult {
        guard let alignerSession else {
            throw .model(.unsupportedOption("aligning needs a Qwen3-ForcedAligner; \(model.directory) is a \(model.family.rawValue) model"))
        }
        return try alignerSession.align(samples, text: text, language: language)
    }

    /// Asks the request in flight to stop at its next check (between tokens and stages); safe from any thread.
    public func cancel() { cancelFlag.set(true) }

    /// Clears a previous `cancel()` before the next request.
    public func clearCancellation() { cancelFlag.set(false) }

    /// Forgets decoded context (the session's `restart`), keeping its buffers.
    public func reset() {
        switch engine {
        case .qwen3ASR(let s): s.reset()
        case .whisper(let s): s.reset()
        case .aligner: break   // nothing decoded to forget: every alignment starts from an empty cache
        }
    }

    /// Releases the session's buffers now (the model stays loaded).
    public func close() {
        switch engine {
        case .qwen3ASR(let s): s.close()
        case .whisper(let s): s.close()
        case .aligner(let s): s.close()
        }
    }

    /// Bytes mapped by this session's state and scratch.
    public var mappedBytes: Int {
        switch engine {
        case .qwen3ASR(let s): s.mappedBytes
        case .whisper(let s): s.mappedBytes
        case .aligner(let s): s.mappedBytes
        }
    }
}

/// The cancellation flag a session shares with its family session.
final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set(_ on: Bool) { flag.store(on, ordering: .relaxed) }
    func check() throws(RuntimeError) {
        if flag.load(ordering: .relaxed) { throw .cancelled }
    }
}

extension Duration {
    /// The duration in milliseconds, for timings and reports.
    public var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
