import EarshotAudio
import EarshotModels
import EarshotRuntime
import EarshotTensor
import Foundation

@_cdecl("earshot_transcribe_pcm")
public func earshot_transcribe_pcm(_ handle: UInt64, _ samples: UnsafePointer<Float>?, _ count: Int, _ sampleRate: Int32,
                                   _ options: CString?, _ onText: EarshotTextCallback?, _ user: UnsafeMutableRawPointer?,
                                   _ out: OutString?) -> Int32 {
    call { () throws(ABIError) in
        let f = "earshot_transcribe_pcm"
        let out = try required(out, "out_result_json", in: f)
        out.pointee = nil
        let session = try Handles.shared.session(handle)
        let request = try OptionsJSON.transcription(options)
        guard count > 0 else { throw ABIError(.audio, "\(f): no samples (count is \(count))") }
        let samples = try required(samples, "samples", in: f)
        guard (1_000...384_000).contains(sampleRate) else {
            throw .invalidArgument("\(f): sample_rate must be in 1000...384000 Hz, got \(sampleRate)")
        }
        do throws(AudioError) {
            try AudioDecodeLimits(maxSeconds: request.maxAudioSeconds).checkDuration(Double(count) / Double(sampleRate), name: "samples")
        } catch {
            throw ABIError(.audio(error))
        }
        let audio = try copySamples(samples, count: count, sampleRate: Int(sampleRate), in: f)
        let aligner = try alignerSession(request)
        try claim(session, handle)
        try transcribe(audio, session: session, request: request, aligner: aligner, onText: onText, user: user, out: out)
    }
}

@_cdecl("earshot_transcribe_file")
public func earshot_transcribe_file(_ handle: UInt64, _ path: CString?, _ options: CString?,
                                    _ onText: EarshotTextCallback?, _ user: UnsafeMutableRawPointer?,
                                    _ out: OutString?) -> Int32 {
    call { () throws(ABIError) in
        let f = "earshot_transcribe_file"
        let out = try required(out, "out_result_json", in: f)
        out.pointee = nil
        let session = try Handles.shared.session(handle)
        let request = try OptionsJSON.transcription(options)
        let aligner = try alignerSession(request)
        let bytes = try required(path, "path", in: f)
        // Claimed before decoding, so that a cancel (earshot_session_cancel, Ctrl-C in Python) also
        // stops a decode in progress: an ffmpeg child is killed, not waited for.
        try claim(session, handle)
        let limits = AudioDecodeLimits(maxSeconds: request.maxAudioSeconds, isCancelled: { session.wasCancelled })
        let audio: AudioSamples
        do throws(AudioError) {
            // Opened by its exact bytes: a name that is not UTF-8 is found too.
            audio = try AudioDecoder.load(pathBytes: Array(UnsafeBufferPointer(start: bytes, count: strlen(bytes) + 1)), limits: limits)
        } catch {
            session.release()
            throw ABIError(.audio(error))
        }
        try transcribe(audio, session: session, request: request, aligner: aligner, onText: onText, user: user, out: out)
    }
}

/// The aligner session named by the options, if any (checked to be a Qwen3-ForcedAligner's).
private func alignerSession(_ request: OptionsJSON.Transcription) throws(ABIError) -> (NativeSession, UInt64)? {
    guard let handle = request.alignerSession else { return nil }
    let s = try Handles.shared.session(handle)
    guard s.owner.model.family == .qwen3ForcedAligner else {
        throw .invalidArgument("transcription options: aligner_session \(handle) is a \(s.owner.model.family.rawValue) session, not a Qwen3-ForcedAligner's")
    }
    return (s, handle)
}

/// The caller's samples in a page buffer of Earshot's own (checked finite), resampled to 16 kHz
/// and conditioned as decoded files are.
func copySamples(_ samples: UnsafePointer<Float>, count: Int, sampleRate: Int, in f: String) throws(ABIError) -> AudioSamples {
    guard count <= Int.max / 4 else { throw .invalidArgument("\(f): count \(count) is too large") }
    let buffer: PageBuffer
    do throws(TensorError) { buffer = try PageBuffer(byteCount: count * 4, owner: .audio) } catch {
        throw ABIError(.outOfMemory, "\(f): cannot map \(count) samples: \(error)")
    }
    let dst = buffer.floats()
    for i in 0..<count {
        let v = samples[i]
        guard v.isFinite else { throw .invalidArgument("\(f): sample \(i) is \(v); audio must be finite") }
        dst[i] = v
    }
    do throws(AudioError) {
        return try AudioDecoder.prepare(AudioSamples(storage: buffer, count: count, sampleRate: sampleRate))
    } catch {
        throw ABIError(.audio(error))
    }
}

/// Marks the session busy for this call, with no cancel left over from an earlier one.
private func claim(_ session: NativeSession, _ handle: UInt64) throws(ABIError) {
    try session.claim(handle, by: "earshot_transcribe")
    session.runtimeSession.clearCancellation()
}

/// Transcribes on the inference threads (the session claimed, and the aligner's for the call),
/// releases them, writes the result JSON.
private func transcribe(_ audio: AudioSamples, session: NativeSession, request: OptionsJSON.Transcription,
                        aligner: (NativeSession, UInt64)?, onText: CallerRelay.Callback?, user: UnsafeMutableRawPointer?,
                        out: OutString) throws(ABIError) {
    if let (a, handle) = aligner {
        do { try a.claim(handle, by: "earshot_transcribe (its aligner_session)") } catch {
            session.release()
            throw error
        }
        a.runtimeSession.clearCancellation()
    }
    var result = CallerRelay.transcribe(audio, session: session, options: request.options,
                                        aligner: aligner.map { ($0.0.runtimeSession, request.granularity) },
                                        onText: onText, user: user)
    if session.wasCancelled { result = .failure(.cancelled) }
    aligner?.0.release()
    session.release()
    switch result {
    case .success(let r): try output(try encodeJSON(r), to: out)
    case .failure(let e): throw ABIError(e)
    }
}
