import EarshotAudio
import EarshotModels
import Foundation
import Synchronization

/// Turns audio into text with one loaded model of any family (Qwen3-ASR, Whisper).
///
/// A transcriber is a session: it owns the model's per-session state (caches and scratch), sized
/// on first use and reused by every later request, so the steady state allocates nothing per
/// request beyond the decoded input. Use one transcriber from one task at a time; make one per
/// concurrent stream (they share the model's weights).
///
/// `@unchecked Sendable`: a transcriber is mutable session state handed between tasks (the
/// `ModelManager` checks it out to one request at a time and back); it is never used by two tasks
/// at once. The only member touched concurrently is the cancellation flag, which is atomic.
public final class Transcriber: @unchecked Sendable {
    public let model: LoadedModel
    private enum Engine {
        case qwen3ASR(Qwen3ASRSession)
        case whisper(WhisperSession)
    }
    private let engine: Engine
    /// Set from any thread to stop the request in flight at the next token (`RuntimeError.cancelled`).
    private let cancelFlag = CancelFlag()

    public init(model: LoadedModel) throws(RuntimeError) {
        self.model = model
        switch model {
        case .qwen3ASR(let m): engine = .qwen3ASR(try Qwen3ASRSession(model: m, cancel: cancelFlag))
        case .whisper(let m): engine = .whisper(try WhisperSession(model: m, cancel: cancelFlag))
        }
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
        try OptionBounds.check(options)
        switch engine {
        case .qwen3ASR(let s): return try s.transcribe(samples, options: options, onText: onText)
        case .whisper(let s): return try s.transcribe(samples, options: options, onText: onText)
        }
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
        }
    }

    /// Releases the session's buffers now (the model stays loaded).
    public func close() {
        switch engine {
        case .qwen3ASR(let s): s.close()
        case .whisper(let s): s.close()
        }
    }

    /// Bytes mapped by this session's state and scratch.
    public var mappedBytes: Int {
        switch engine {
        case .qwen3ASR(let s): s.mappedBytes
        case .whisper(let s): s.mappedBytes
        }
    }
}

/// The cancellation flag a transcriber shares with its engine.
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
