import EarshotAudio
import EarshotRuntime
import Foundation

@_cdecl("earshot_align_pcm")
public func earshot_align_pcm(_ handle: UInt64, _ samples: UnsafePointer<Float>?, _ count: Int, _ sampleRate: Int32,
                              _ text: CString?, _ options: CString?, _ out: OutString?) -> Int32 {
    call { () throws(ABIError) in
        let f = "earshot_align_pcm"
        let out = try required(out, "out_result_json", in: f)
        out.pointee = nil
        let session = try Handles.shared.session(handle)
        let (language, maxAudioSeconds) = try OptionsJSON.alignment(options)
        let transcript = String(cString: try required(text, "text", in: f))
        guard count > 0 else { throw ABIError(.audio, "\(f): no samples (count is \(count))") }
        let samples = try required(samples, "samples", in: f)
        guard (1_000...384_000).contains(sampleRate) else {
            throw .invalidArgument("\(f): sample_rate must be in 1000...384000 Hz, got \(sampleRate)")
        }
        do throws(AudioError) {
            try AudioDecodeLimits(maxSeconds: maxAudioSeconds).checkDuration(Double(count) / Double(sampleRate), name: "samples")
        } catch {
            throw ABIError(.audio(error))
        }
        let audio = try copySamples(samples, count: count, sampleRate: Int(sampleRate), in: f)
        try align(audio, session: session, handle: handle, text: transcript, language: language, out: out)
    }
}

@_cdecl("earshot_align_file")
public func earshot_align_file(_ handle: UInt64, _ path: CString?, _ text: CString?, _ options: CString?,
                               _ out: OutString?) -> Int32 {
    call { () throws(ABIError) in
        let f = "earshot_align_file"
        let out = try required(out, "out_result_json", in: f)
        out.pointee = nil
        let session = try Handles.shared.session(handle)
        let (language, maxAudioSeconds) = try OptionsJSON.alignment(options)
        let transcript = String(cString: try required(text, "text", in: f))
        let bytes = try required(path, "path", in: f)
        let audio: AudioSamples
        do throws(AudioError) {
            audio = try AudioDecoder.load(pathBytes: Array(UnsafeBufferPointer(start: bytes, count: strlen(bytes) + 1)),
                                          limits: AudioDecodeLimits(maxSeconds: maxAudioSeconds))
        } catch {
            throw ABIError(.audio(error))
        }
        try align(audio, session: session, handle: handle, text: transcript, language: language, out: out)
    }
}

/// Aligns on the inference threads (the session claimed for the call), writes the result JSON:
/// {"words": [{"text", "start", "end", "start_ms", "end_ms"}], "audio_seconds", "audio_tokens",
/// "prompt_tokens", "timings"}.
private func align(_ audio: AudioSamples, session: NativeSession, handle: UInt64, text: String, language: String?,
                   out: OutString) throws(ABIError) {
    try session.claim(handle, by: "earshot_align")
    session.runtimeSession.clearCancellation()
    let job = AlignJob(session: session.runtimeSession, samples: audio)
    var result = CallerRelay.wait { job.run(text: text, language: language) }
    if session.wasCancelled { result = .failure(.cancelled) }
    session.release()
    switch result {
    case .success(let r): try output(try encodeJSON(r), to: out)
    case .failure(let e): throw ABIError(e)
    }
}

/// The session and samples of one alignment, handed to the worker once: `run` drops both before
/// it returns, so the samples are unmapped before the caller resumes (the worker may release its
/// job closure only after signalling; a caller reading its memory at once must see them gone).
/// `@unchecked Sendable`: written at init, taken once by the one worker that runs it.
private final class AlignJob: @unchecked Sendable {
    private var session: Session?
    private var samples: AudioSamples?

    init(session: Session, samples: AudioSamples) {
        self.session = session
        self.samples = samples
    }

    func run(text: String, language: String?) -> Result<AlignmentResult, RuntimeError> {
        guard let s = session.take(), let a = samples.take() else { return .failure(.cancelled) }
        return Result { () throws(RuntimeError) in try s.align(a, text: text, language: language) }
    }
}
