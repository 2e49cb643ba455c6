import ArgumentParser
import EarshotAudio
import EarshotModels
import EarshotRuntime
import EarshotServer
import EarshotTensor
import Foundation

struct Transcribe: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Transcribe audio files with a Qwen3-ASR or Whisper model.")

    @Argument(help: "Audio files (WAV; FLAC, MP3, Ogg, M4A, AAC, WebM, AIFF, CAF, AMR need ffmpeg on PATH).")
    var audio: [String]

    @OptionGroup var common: ModelOptions

    @Option(name: [.long, .customLong("initial-prompt")],
            help: "Qwen3-ASR: context for the system turn (names, terms). Whisper: the initial prompt (--initial-prompt; at most 223 tokens).")
    var context: String = ""

    @Option(name: .long, help: "Maximum generated tokens per 20-minute pass.")
    var maxTokens: Int = 1024

    @Option(name: .long, help: "Refuse audio longer than this many seconds (default: any length).")
    var maxAudioSeconds: Double?

    @Flag(name: .long, help: "Whisper: each segment's words with start, end and probability (in --json).")
    var wordTimestamps = false

    @Option(name: .long, help: "Qwen3-ASR: a Qwen3-ForcedAligner (directory or GGUF) that times the transcript's words; segments come from them.")
    var aligner: String?

    @Option(name: .long, help: "With --aligner: word (segments with their words, the default) or segment.")
    var timestamps: AlignmentGranularity?

    @Option(name: .long, help: "transcribe, or translate (into English; multilingual Whisper models).")
    var task: String = "transcribe"

    @OptionGroup(title: "Whisper decoding (faster-whisper's defaults)") var decodingFlags: DecodingFlags

    @OptionGroup(title: "Voice activity detection") var vadFlags: VADFlags

    @Flag(name: .long, help: "Print one JSON object per file: text, language, token_ids, audio_seconds, timings, segments.")
    var json = false

    @Option(name: .long, help: "Write each transcript as text, json, verbose_json, srt or vtt (the server's response bodies; Whisper's cues are its segments).")
    var format: String?

    @Option(name: .long, help: "With --format srt|vtt and --word-timestamps: cues of whole words, at most this many characters each, instead of segments.")
    var maxLineChars: Int?

    @Option(name: .long, help: "With --format: write FILE's transcript to DIR/<FILE's name>.<txt|json|srt|vtt> instead of standard output.")
    var outputDir: String?

    func run() throws {
        if let threads = common.threads { Kernels.setThreadCount(max(1, threads)) }
        let audioLimits = AudioDecodeLimits(maxSeconds: maxAudioSeconds)
        let loaded: LoadedModel, loadMs: Double
        do {
            (loaded, loadMs) = try common.load()
        } catch {
            throw fail("earshot: \(error)")
        }
        defer { loaded.close() }
        let session: Session
        do { session = try Session(model: loaded) } catch { throw fail("earshot: \(error)") }
        defer { session.close() }
        var options = TranscriptionOptions(language: common.language, context: context, maxNewTokens: maxTokens,
                                           timestamps: decodingFlags.timestampsOn, decoding: decodingFlags.decoding)
        options.task = TranscriptionTask(rawValue: task) ?? .transcribe
        options.wordTimestamps = wordTimestamps
        do { options.vad = try vadFlags.filter() } catch { throw fail("earshot: VAD model: \(error)") }
        defer { options.vad?.model.close() }
        let alignerSession: Session?
        if let aligner {
            do {
                let model = try Qwen3ForcedAlignerModel(directory: aligner, precision: common.precision ?? .inPlace)
                do { alignerSession = try Session(model: .qwen3ForcedAligner(model)) } catch { model.close(); throw error }
            } catch {
                throw fail("earshot: aligner: \(error)")
            }
        } else {
            alignerSession = nil
        }
        defer {
            alignerSession?.close()
            alignerSession?.model.close()
        }
        let streaming = !json && format == nil && isatty(STDOUT_FILENO) != 0
        var failed = false
        // Several files in plain text: each line starts with its file ("FILE: text"), as grep and
        // md5sum do; one file prints its text alone.
        let labelled = audio.count > 1
        for (i, file) in audio.enumerated() {
            do {
                if streaming, labelled { FileHandle.standardOutput.write(Data("\(file): ".utf8)) }
                let onText: ((String) -> Void)? = streaming ? { FileHandle.standardOutput.write(Data($0.utf8)) } : nil
                var result: TranscriptionResult
                if let alignerSession {
                    let samples: AudioSamples
                    do { samples = try AudioDecoder.load(path: file, limits: audioLimits) } catch { throw RuntimeError.audio(error) }
                    defer { samples.storage.close() }
                    result = try session.transcribe(samples, options: options, aligner: alignerSession,
                                                    granularity: timestamps ?? .word, maxLineChars: maxLineChars, onText: onText)
                } else {
                    result = try session.transcribe(path: file, options: options, audioLimits: audioLimits, onText: onText)
                }
                if i == 0 { result.timings.loadMs = loadMs }
                if let format {
                    try write(result, format: format, file: file, task: options.task)
                } else if json {
                    print(try jsonLine(result, file: file))
                } else if streaming {
                    print("")
                } else {
                    print(labelled ? "\(file): \(result.text)" : result.text)
                }
            } catch {
                if streaming, labelled { print("") }
                FileHandle.standardError.write(Data((fileErrorLine(file, error) + "\n").utf8))
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }

    func validate() throws {
        guard TranscriptionTask(rawValue: task) != nil else {
            throw ValidationError("--task: unknown task '\(task)'; use transcribe or translate")
        }
        try checkOption(maxTokens, OptionBounds.maxTokens, "--max-tokens")
        try checkOption(maxAudioSeconds, OptionBounds.maxAudioSeconds, "--max-audio-seconds")
        if let format {
            guard TranscriptRenderer.formats.contains(format) else {
                throw ValidationError("--format: unknown format '\(format)'; use \(TranscriptRenderer.formats.joined(separator: ", "))")
            }
            guard !json else { throw ValidationError("--json and --format are one choice; use --format verbose_json or --json") }
            // Several subtitle or JSON documents on one stream would be neither.
            if audio.count > 1, outputDir == nil {
                throw ValidationError("--format \(format) with several files needs --output-dir (one document per file)")
            }
        } else if outputDir != nil {
            throw ValidationError("--output-dir needs --format")
        }
        if timestamps != nil, aligner == nil { throw ValidationError("--timestamps needs --aligner") }
        if let maxLineChars {
            guard format == "srt" || format == "vtt", wordTimestamps || aligner != nil else {
                throw ValidationError("--max-line-chars needs --format srt or vtt and --word-timestamps or --aligner (cues are made of words)")
            }
            guard (1...1000).contains(maxLineChars) else { throw ValidationError("--max-line-chars must be 1...1000") }
        }
    }

    /// One document per file: to standard output, or to `--output-dir`/<name>.<extension>.
    private func write(_ result: TranscriptionResult, format: String, file: String, task: TranscriptionTask) throws {
        guard let body = TranscriptRenderer.render(result, format: format, task: task, maxLineChars: maxLineChars) else { return }
        guard let outputDir else {
            FileHandle.standardOutput.write(Data(body.utf8))
            if !body.hasSuffix("\n") { FileHandle.standardOutput.write(Data("\n".utf8)) }
            return
        }
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let url = URL(fileURLWithPath: outputDir).appendingPathComponent(name + "." + TranscriptRenderer.fileExtension(format))
        try Data(body.utf8).write(to: url, options: .atomic)
    }

    private func jsonLine(_ result: TranscriptionResult, file: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var obj = try JSONSerialization.jsonObject(with: encoder.encode(result)) as! [String: Any]
        obj["file"] = file
        let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}

extension AlignmentGranularity: ExpressibleByArgument {}
