import EarshotAudio
import EarshotRuntime
import Foundation

/// Runs one transcription on Earshot's inference threads while the calling thread waits, and
/// hands the streamed text to the calling thread.
///
/// Why not transcribe on the caller's thread: callers (Python's thread pools, say) come and go,
/// and every new thread that runs BLAS keeps its own buffers and malloc arena resident. The fixed
/// pool keeps that set constant (see `InferenceThreads`). Why relay the text: the caller's
/// callback then runs on the thread that called — what a binding that holds a GIL expects — and
/// never concurrently with itself.
///
/// `@unchecked Sendable`: `pending`, `outcome` are guarded by `condition`.
final class CallerRelay: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [String] = []
    private init() { pending.reserveCapacity(64) }
    private var outcome: Result<TranscriptionResult, RuntimeError>?

    typealias Callback = EarshotTextCallback

    /// Transcribes `samples` with `session`, calling `onText(text, user)` on this thread as text
    /// arrives; a non-zero return cancels the transcription.
    /// `aligner`: a Qwen3-ForcedAligner session (claimed by the caller) that times the transcript.
    static func transcribe(_ samples: AudioSamples, session: NativeSession, options: TranscriptionOptions,
                           aligner: (session: Session, granularity: AlignmentGranularity)? = nil,
                           onText: Callback?, user: UnsafeMutableRawPointer?) -> Result<TranscriptionResult, RuntimeError> {
        let relay = CallerRelay()
        let runtimeSession = session.runtimeSession
        let work = Work(runtimeSession: runtimeSession, samples: samples, aligner: aligner)
        let streams = onText != nil
        InferenceThreads.shared.start {
            let result = work.run(options: options, onText: streams ? { relay.push($0) } : nil)
            relay.finish(result)
        }
        var cancelled = false
        // Two buffers trade places under the lock, so relaying text allocates nothing per token.
        var texts: [String] = []
        texts.reserveCapacity(64)
        while true {
            texts.removeAll(keepingCapacity: true)
            let outcome = relay.next(swapping: &texts)
            if let onText, !cancelled {
                for text in texts {
                    let stop = text.withCString { onText($0, user) }
                    if stop != 0 {
                        cancelled = true
                        runtimeSession.cancel()
                        aligner?.session.cancel()
                        break
                    }
                }
            }
            // A cancel from the callback counts even if decoding had already finished.
            if let outcome { return cancelled ? .failure(.cancelled) : outcome }
        }
    }

    /// What the job needs, handed over once: `run` drops its references before it returns, so the
    /// session's buffers and the samples are never held by the worker after the caller resumes
    /// (a caller that frees everything and reads its memory at once sees it all gone).
    /// `@unchecked Sendable`: written once at init, taken once by the one worker that runs it.
    private final class Work: @unchecked Sendable {
        private var runtimeSession: Session?
        private var samples: AudioSamples?
        private var aligner: (session: Session, granularity: AlignmentGranularity)?

        init(runtimeSession: Session, samples: AudioSamples, aligner: (session: Session, granularity: AlignmentGranularity)?) {
            self.runtimeSession = runtimeSession
            self.samples = samples
            self.aligner = aligner
        }

        func run(options: TranscriptionOptions, onText: ((String) -> Void)?) -> Result<TranscriptionResult, RuntimeError> {
            guard let t = runtimeSession.take(), let s = samples.take() else { return .failure(.cancelled) }
            if let a = aligner.take() {
                return Result { () throws(RuntimeError) in
                    try t.transcribe(s, options: options, aligner: a.session, granularity: a.granularity, onText: onText)
                }
            }
            return Result { () throws(RuntimeError) in try t.transcribe(s, options: options, onText: onText) }
        }
    }

    /// Runs `work` on the inference threads and waits for it (no streamed text: alignment).
    static func wait<T: Sendable>(_ work: @escaping @Sendable () -> T) -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        InferenceThreads.shared.start {
            box.value = work()
            done.signal()
        }
        done.wait()
        return box.value!
    }

    /// Written once by the worker before it signals, read once after the wait.
    /// `@unchecked Sendable`: the semaphore orders the write before the read.
    private final class ResultBox<T>: @unchecked Sendable {
        var value: T?
    }

    private func push(_ text: String) {
        condition.lock()
        pending.append(text)
        condition.signal()
        condition.unlock()
    }

    private func finish(_ result: Result<TranscriptionResult, RuntimeError>) {
        condition.lock()
        outcome = result
        condition.signal()
        condition.unlock()
    }

    /// Waits for text or the end; swaps the text so far into `texts` (which must be empty) and
    /// returns the outcome once everything is taken.
    private func next(swapping texts: inout [String]) -> Result<TranscriptionResult, RuntimeError>? {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty && outcome == nil { condition.wait() }
        swap(&pending, &texts)
        return outcome
    }
}

/// `earshot_text_callback`: text (UTF-8, valid during the call) and the caller's pointer; return
/// non-zero to cancel.
public typealias EarshotTextCallback = @convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Int32
