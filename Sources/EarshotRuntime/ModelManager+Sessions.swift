import EarshotAudio
import EarshotModels

extension ModelManager {
    /// Transcribes `audio` with model `name` on one of its pooled sessions, loading the model on
    /// demand. Runs on the process's fixed inference threads (`InferenceThreads`), off the actor;
    /// cancelling the calling task cancels the transcription.
    /// The model cannot be unloaded under a running request: `unload` waits for it (or cancels it).
    public func transcribe(_ audio: AudioSamples, model name: String, options: TranscriptionOptions = .init(),
                           onText: (@Sendable (String) -> Void)? = nil) async throws(RuntimeError) -> TranscriptionResult {
        let session = try await checkout(name)
        let result = await run(cancelling: [session]) { () throws(RuntimeError) in
            try session.transcribe(audio, options: options, onText: onText)
        }
        checkin(name, session)
        return try result.get()
    }

    /// Transcribes an audio file (decoded off the actor) with model `name`.
    public func transcribe(path: String, model name: String, options: TranscriptionOptions = .init(),
                           audioLimits: AudioDecodeLimits = .none,
                           onText: (@Sendable (String) -> Void)? = nil) async throws(RuntimeError) -> TranscriptionResult {
        let decoded = await Blocking.run { () -> Result<AudioSamples, AudioError> in
            Result { () throws(AudioError) in try AudioDecoder.load(path: path, limits: audioLimits) }
        }
        switch decoded {
        case .success(let samples): return try await transcribe(samples, model: name, options: options, onText: onText)
        case .failure(let error): throw .audio(error)
        }
    }

    /// Times every word of `text` in `audio` with the Qwen3-ForcedAligner registered as `name`
    /// (loaded on demand, pooled like any model).
    public func align(_ audio: AudioSamples, model name: String, text: String,
                      language: String? = nil) async throws(RuntimeError) -> AlignmentResult {
        let session = try await checkout(name)
        let result = await run(cancelling: [session]) { () throws(RuntimeError) in
            try session.align(audio, text: text, language: language)
        }
        checkin(name, session)
        return try result.get()
    }

    /// Transcribes `audio` with the Qwen3-ASR model `name` and times its words with the aligner
    /// `aligner` (`Session.transcribe(_:options:aligner:...)`). Both models are loaded on demand and
    /// held (neither can be unloaded) until the request ends.
    public func transcribe(_ audio: AudioSamples, model name: String, options: TranscriptionOptions = .init(),
                           aligner: String, granularity: AlignmentGranularity = .word, maxLineChars: Int? = nil,
                           onText: (@Sendable (String) -> Void)? = nil) async throws(RuntimeError) -> TranscriptionResult {
        let session = try await checkout(name)
        let alignerSession: Session
        do { alignerSession = try await checkout(aligner) } catch {
            checkin(name, session)
            throw error
        }
        let result = await run(cancelling: [session, alignerSession]) { () throws(RuntimeError) in
            try session.transcribe(audio, options: options, aligner: alignerSession, granularity: granularity,
                                   maxLineChars: maxLineChars, onText: onText)
        }
        checkin(aligner, alignerSession)
        checkin(name, session)
        return try result.get()
    }

    /// Runs `work` on the process's fixed inference threads (`InferenceThreads`), off the actor;
    /// cancelling the calling task cancels `sessions`' request in flight.
    private func run<T: Sendable>(cancelling sessions: [Session],
                                  _ work: @escaping @Sendable () throws(RuntimeError) -> T) async -> Result<T, RuntimeError> {
        await withTaskCancellationHandler {
            await InferenceThreads.shared.run { () -> Result<T, RuntimeError> in Result(catching: work) }
        } onCancel: {
            for s in sessions { s.cancel() }
        }
    }

    /// A free session of `name` (made on first use, at most `sessionsPerModel`), marking it in flight.
    private func checkout(_ name: String) async throws(RuntimeError) -> Session {
        while true {
            let e = try entry(name)
            guard case .ready(let model) = e.phase else {
                guard configuration.loadOnDemand || e.state == .loading || e.state == .unloading else {
                    throw .notLoaded(name)
                }
                if e.state == .unloading { await e.unloading?.value; continue }
                try await load(name)
                continue
            }
            // A weight file truncated in place since load would fault (SIGBUS) when read: refuse first.
            do { try model.checkWeightFiles() } catch { throw .model(error) }
            let session: Session
            if let s = e.idle.popLast() {
                session = s
            } else if e.busy.count < configuration.sessionsPerModel {
                session = try Session(model: model)
            } else {
                await withCheckedContinuation { e.sessionWaiters.append($0) }
                continue
            }
            session.clearCancellation()
            e.busy[ObjectIdentifier(session)] = session
            e.lastUsed = .now
            return session
        }
    }

    /// Returns a session to its model's pool and wakes whoever waits for it (a request or an unload).
    private func checkin(_ name: String, _ session: Session) {
        guard let e = entries[name], e.busy.removeValue(forKey: ObjectIdentifier(session)) != nil else {
            session.close()
            return
        }
        if e.state == .ready { e.idle.append(session) } else { session.close() }
        e.lastUsed = .now
        if !e.sessionWaiters.isEmpty { e.sessionWaiters.removeFirst().resume() }
        if e.busy.isEmpty {
            wakeRoomWaiters()
            let drained = e.drainWaiters
            e.drainWaiters.removeAll()
            for w in drained { w.resume() }
            scheduleIdleUnload(e)
        }
    }
}
