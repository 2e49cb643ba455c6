import EarshotAudio
import EarshotRuntime
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// `POST /v1/audio/transcriptions`, as OpenAI's: a multipart form with `file`, `model`,
/// `language`, `prompt`, `response_format`, `temperature`, `timestamp_granularities[]`, `stream`;
/// and `POST /v1/audio/translations` (English text; multilingual Whisper models), the same form.
///
/// Order of checks, cheapest first, so a bad request costs nothing: size (413) -> form (400) ->
/// model known (404) -> admission (429) -> audio decodes within the duration limit (400) -> load
/// fits (507) -> transcribe (504 when decoding and transcribing together pass the timeout, which
/// starts at admission). A client that disconnects, or a shutdown, cancels its decoding (killing
/// ffmpeg) and frees its session.
struct TranscriptionHandler: Sendable {
    static let path = "/v1/audio/transcriptions"
    static let translationsPath = "/v1/audio/translations"
    let service: TranscriptionService
    var task: TranscriptionTask = .transcribe

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let contentType = request.headers[.contentType] ?? ""
        let boundary = try MultipartForm.boundary(fromContentType: contentType)
        let limit = service.configuration.maxUploadMB << 20
        // A declared length over the limit is refused before reading a byte; the server then
        // discards the rest of the upload, so the client still reads the 413.
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit + 64 * 1024 {
            throw APIError.uploadTooLarge(limitBytes: limit)
        }
        // Everything below runs cancelled if the client closes the connection.
        return try await request.body.consumeWithCancellationOnInboundClose { body in
            let buffer: ByteBuffer
            do { buffer = try await body.collect(upTo: limit + 64 * 1024) } catch is NIOTooManyBytesError {
                throw APIError.uploadTooLarge(limitBytes: limit)
            }
            let form = try MultipartForm(body: buffer, boundary: boundary, limits: .init())
            let job = try TranscriptionJob(form: form, service: service, uploadLimit: limit, task: task)
            context.logger.info("transcription", metadata: ["model": "\(job.model)", "format": "\(job.format.rawValue)",
                                                           "stream": "\(job.stream)", "bytes": "\(job.file.readableBytes)"])
            let slot = try await service.admission.acquire()
            let deadline = AudioDecodeLimits.Deadline(seconds: service.configuration.timeoutSeconds)
            let samples = try await decode(job, deadline: deadline)
            if job.stream {
                return streamingResponse(job, samples: samples, slot: slot, deadline: deadline, started: started,
                                         logger: context.logger)
            }
            let result = try await service.transcribe(samples, job: job, deadline: deadline, onText: nil)
            withExtendedLifetime(slot) {}
            service.metrics.recordTranscription(duration: .now - started, ttftMs: result.timings.ttftMs,
                                                audioSeconds: result.audioSeconds)
            let rendered = TranscriptDocument(result: result, job: job).render(job.format)
            var headers = HTTPFields()
            headers[.contentType] = rendered.contentType
            // Timings of the model's own work (not upload or queueing), for clients and load tests.
            headers[.init("x-earshot-ttft-ms")!] = String(format: "%.1f", result.timings.ttftMs)
            headers[.init("x-earshot-decode-ms")!] = String(format: "%.1f", result.timings.decodeMs)
            headers[.init("x-earshot-tokens")!] = "\(result.tokenIDs.count)"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: rendered.body)))
        }
    }

    /// Decodes the upload off the event loop (ffmpeg for non-WAV may take a while), within the
    /// duration limit and the request's deadline; the task's cancellation (client gone) and the
    /// server's shutdown stop it, killing ffmpeg.
    private func decode(_ job: TranscriptionJob, deadline: AudioDecodeLimits.Deadline) async throws -> AudioSamples {
        let file = job.file, name = job.filename, configuration = service.configuration
        let cancelled = Atomic<Bool>(false)
        let stopping = service.stopping, grace = configuration.shutdownDecodeGraceSeconds, start = ContinuousClock.now
        let limits = AudioDecodeLimits(
            maxSeconds: configuration.maxAudioSeconds > 0 ? configuration.maxAudioSeconds : nil, deadline: deadline,
            isCancelled: { cancelled.load(ordering: .relaxed) || stopping.expired(grace: grace, start: start) },
            ffmpegPath: configuration.ffmpeg)
        do {
            return try await withTaskCancellationHandler {
                try await NIOThreadPool.singleton.runIfActive {
                    try file.withUnsafeReadableBytes { bytes in try AudioDecoder.decode(bytes: bytes, name: name, limits: limits) }
                }
            } onCancel: { cancelled.store(true, ordering: .relaxed) }
        } catch AudioError.cancelled where stopping.isSet {
            throw APIError.shuttingDown
        }
    }

    /// Server-sent events: `transcript.text.delta` per piece of text, then `transcript.text.done`.
    /// Decoding runs inside the body writer, so a failed write (client gone) cancels it; a comment
    /// line every second while nothing else is sent (prefill, long silences) makes sure a vanished
    /// client is noticed even before the first token.
    private func streamingResponse(_ job: TranscriptionJob, samples: AudioSamples, slot: Slot,
                                   deadline: AudioDecodeLimits.Deadline, started: ContinuousClock.Instant,
                                   logger: Logger) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let service = service
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let (events, sink) = AsyncStream<String>.makeStream()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    defer { sink.finish() }
                    let streamed = StreamedText()
                    do {
                        let result = try await service.transcribe(samples, job: job, deadline: deadline) { piece in
                            if let delta = streamed.accept(piece) { sink.yield(ServerSentEvent.delta(delta)) }
                        }
                        withExtendedLifetime(slot) {}
                        service.metrics.recordTranscription(duration: .now - started,
                                                            ttftMs: result.timings.ttftMs, audioSeconds: result.audioSeconds)
                        // Text the runtime held back while streaming (no `<asr_text>` marker in the
                        // output, say) goes out as a last delta, so the deltas add up to the text.
                        if let rest = streamed.remainder(of: result.text) { sink.yield(ServerSentEvent.delta(rest)) }
                        sink.yield(ServerSentEvent.done(text: result.text))
                    } catch {
                        let apiError = APIError.from(error)
                        service.metrics.recordRejection(apiError)
                        logger.warning("streaming transcription failed", metadata: ["error": "\(LogSafe.escape(apiError.description))"])
                        sink.yield("event: error\ndata: \(apiError.body)\n\n")
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(1))
                        sink.yield(": keep-alive\n\n")
                    }
                }
                for await event in events {
                    try await writer.write(ByteBuffer(string: event))
                }
                group.cancelAll()
            }
            try await writer.finish(nil)
        })
    }
}

/// Shapes one request's streamed pieces so that the deltas add up to the final text, which the
/// runtime trims: leading whitespace is dropped and whitespace is held back until more text
/// follows (pieces arrive on the inference thread; the lock is uncontended).
private final class StreamedText: Sendable {
    private struct State { var sent = ""; var held = "" }
    private let state = Mutex(State())

    /// The delta to send for `piece`, if any.
    func accept(_ piece: String) -> String? {
        state.withLock { s in
            var text = s.held + piece
            if s.sent.isEmpty { text = String(text.drop { $0.isWhitespace }) }
            let body = text.prefix(through: text.lastIndex { !$0.isWhitespace } ?? text.startIndex)
            let visible = text.contains { !$0.isWhitespace } ? String(body) : ""
            s.held = String(text.dropFirst(visible.count))
            guard !visible.isEmpty else { return nil }
            s.sent += visible
            return visible
        }
    }

    /// What `final` adds after the streamed text, when it extends it.
    func remainder(of final: String) -> String? {
        state.withLock { s in
            guard final.count > s.sent.count, final.hasPrefix(s.sent) else { return nil }
            return String(final.dropFirst(s.sent.count))
        }
    }
}

/// The validated fields of one transcription request.
struct TranscriptionJob: Sendable {
    let file: ByteBuffer
    let filename: String
    let model: String
    let language: String?
    let prompt: String
    let format: ResponseFormat
    let stream: Bool
    var task: TranscriptionTask = .transcribe
    /// `timestamp_granularities[]`: words asked for (Whisper word timestamps) / segments listed.
    var wordTimestamps = false
    var segmentTimestamps = true
    /// The request's `temperature` (nil: not given).
    var temperature: Double?
    /// `vad` (Earshot's extension, faster-whisper's `vad_filter`): transcribe only speech.
    var vad = false

    init(form: MultipartForm, service: TranscriptionService, uploadLimit: Int, task: TranscriptionTask = .transcribe) throws {
        self.task = task
        guard let part = form.part(named: "file") else {
            throw APIError.badRequest("the form has no 'file' field (the audio to transcribe)", code: "missing_file")
        }
        guard part.body.readableBytes <= uploadLimit else { throw APIError.uploadTooLarge(limitBytes: uploadLimit) }
        guard part.body.readableBytes > 0 else { throw APIError.invalidAudio("the uploaded file is empty") }
        file = part.body
        filename = part.filename.map { ($0 as NSString).lastPathComponent }.flatMap { $0.isEmpty ? nil : $0 } ?? "upload"
        guard let model = try form.field("model"), !model.isEmpty else {
            throw APIError.badRequest("the form has no 'model' field", code: "missing_model")
        }
        guard service.knownModels.contains(model) else { throw APIError.unknownModel(model, known: service.knownModels) }
        self.model = model
        language = try form.field("language").flatMap { $0.isEmpty ? nil : $0 }.map { (l) throws(APIError) in try LanguageCodes.resolve(l) }
        prompt = try form.field("prompt") ?? ""
        let formatName = try form.field("response_format") ?? "json"
        guard let format = ResponseFormat(rawValue: formatName) else {
            throw APIError.badRequest("unsupported response_format '\(formatName)'; use one of: "
                                      + ResponseFormat.allCases.map(\.rawValue).joined(separator: ", "), code: "invalid_response_format")
        }
        self.format = format
        if let t = try form.field("temperature"), !t.isEmpty {
            // Whisper: 0 keeps the fallback, above 0 is the one temperature; Qwen3-ASR decodes greedily.
            guard let value = Double(t), value.isFinite, value >= 0, value <= OptionBounds.temperature.range.upperBound else {
                throw APIError.badRequest("temperature must be a number from 0 to \(OptionBounds.temperature.range.upperBound), got '\(t)'",
                                          code: "invalid_temperature")
            }
            temperature = value
        }
        // OpenAI sends `timestamp_granularities[]` once per value; the bare name is read too.
        var granularities: [String] = []
        for part in form.parts(named: "timestamp_granularities[]") + form.parts(named: "timestamp_granularities") {
            guard part.body.readableBytes <= 64 else {
                throw APIError.badRequest("timestamp_granularities values are 'word' or 'segment'", code: "invalid_timestamp_granularities")
            }
            granularities.append(String(buffer: part.body).trimmingCharacters(in: .whitespaces))
        }
        if !granularities.isEmpty {
            for g in granularities where g != "word" && g != "segment" {
                throw APIError.badRequest("unknown timestamp granularity '\(LogSafe.escape(g, limit: 40))'; use word and/or segment",
                                          code: "invalid_timestamp_granularities")
            }
            guard format == .verboseJSON else {
                throw APIError.badRequest("timestamp_granularities needs response_format=verbose_json",
                                          code: "invalid_timestamp_granularities")
            }
            wordTimestamps = granularities.contains("word")
            segmentTimestamps = granularities.contains("segment")
        }
        switch try form.field("vad")?.lowercased() {
        case nil, "", "false", "0": vad = false
        case "true", "1":
            guard service.vad != nil else {
                throw APIError.badRequest("vad=true needs a Silero VAD model on the server (serve --vad-model, or "
                                          + "scripts/fetch-whisper-models --models silero-vad)", code: "vad_unavailable")
            }
            vad = true
        case let other?: throw APIError.badRequest("vad must be true or false, got '\(LogSafe.escape(other, limit: 40))'",
                                                   code: "invalid_vad")
        }
        switch try form.field("stream")?.lowercased() {
        case nil, "", "false", "0": stream = false
        case "true", "1": stream = true
        case let other?: throw APIError.badRequest("stream must be true or false, got '\(other)'", code: "invalid_stream")
        }
    }
}
