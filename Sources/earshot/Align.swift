import ArgumentParser
import EarshotAudio
import EarshotModels
import EarshotRuntime
import EarshotTensor
import Foundation

/// `earshot align`: word times for a known transcript, with a Qwen3-ForcedAligner.
struct Align: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time every word of a transcript in its audio with a Qwen3-ForcedAligner.",
        discussion: """
            Prints one word per line (start and end in seconds, then the word), or with --json one
            object: {"words": [{"text", "start", "end"}], "audio_seconds", "timings"}. Words are cut
            as the official aligner cuts them: punctuation goes, each CJK character is a word.
            Japanese and Korean are refused (they need morphological tokenizers Earshot does not
            have). A transcript without words gives no words.
            """)

    @Argument(help: "Audio file (WAV; other formats need ffmpeg on PATH), at most the aligner's span (400 s for the published model).")
    var audio: String

    @Option(name: .long, help: "Qwen3-ForcedAligner: a published directory or a GGUF file written by earshot convert.")
    var model: String

    @Option(name: .long, help: "The transcript to align.")
    var text: String?

    @Option(name: .long, help: "Read the transcript from this file (UTF-8) instead of --text.")
    var textFile: String?

    @Option(name: .long, help: "The transcript's language (e.g. English, Chinese); it decides how words are cut.")
    var language: String?

    @Option(name: [.customLong("precision"), .customLong("quant")],
            help: "Weight precision at load: \(WeightPrecision.names); q8/q4 quantize the decoder (default: native).")
    var precision: WeightPrecision?

    @Option(name: .long, help: "Compute threads (default: all cores).")
    var threads: Int?

    @Flag(name: .long, help: "Print one JSON object: words with start and end in seconds, audio_seconds, timings.")
    var json = false

    @Option(name: .long, help: "Benchmark: align this many times after one warm-up alignment; --json then adds runs_ms (each alignment's total) and peak_rss_bytes.")
    var runs: Int = 1

    /// Transcripts larger than this are refused before reading (a 400 s clip holds a few thousand words).
    static let maxTextBytes = 1 << 20

    func validate() throws {
        guard (text == nil) != (textFile == nil) else { throw ValidationError("give the transcript with --text or --text-file") }
        if let text, text.utf8.count > Self.maxTextBytes {
            throw ValidationError("--text is \(text.utf8.count) bytes; at most \(Self.maxTextBytes)")
        }
        try checkOption(threads, OptionBounds.threads, "--threads")
        guard (1...1000).contains(runs) else { throw ValidationError("--runs must be 1...1000") }
    }

    func run() throws {
        Kernels.setThreadCount(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let transcript = try readTranscript()
        let clock = ContinuousClock()
        let loadStart = clock.now
        let aligner: Qwen3ForcedAlignerModel
        do { aligner = try Qwen3ForcedAlignerModel(directory: model, precision: precision ?? .inPlace) } catch {
            throw fail("earshot: \(error)")
        }
        defer { aligner.close() }
        let loadMs = (clock.now - loadStart).milliseconds
        let session: AlignerSession
        do { session = try AlignerSession(model: aligner) } catch { throw fail("earshot: \(error)") }
        defer { session.close() }
        var result: AlignmentResult
        var runsMs: [Double] = []
        do {
            let samples = try AudioDecoder.load(path: audio)
            defer { samples.storage.close() }
            result = try session.align(samples, text: transcript, language: language)
            for _ in 0..<(runs > 1 ? runs : 0) {
                result = try session.align(samples, text: transcript, language: language)
                runsMs.append(result.timings.totalMs)
            }
        } catch {
            throw fail(fileErrorLine(audio, error))
        }
        result.timings.loadMs = loadMs
        if json {
            var extra: [String: Any] = [:]
            if runs > 1 { extra = ["runs_ms": runsMs, "peak_rss_bytes": MemoryReport.current().peakRSSBytes] }
            print(try Self.json(result, extra: extra))
        } else {
            for w in result.words { print(String(format: "%8.3f %8.3f  %@", w.start, w.end, w.text)) }
        }
    }

    private func readTranscript() throws -> String {
        if let text { return text }
        let path = textFile!
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = attributes?[.size] as? Int, attributes?[.type] as? FileAttributeType == .typeRegular else {
            throw fail("earshot: \(path): not a readable regular file")
        }
        guard size <= Self.maxTextBytes else { throw fail("earshot: \(path) is \(size) bytes; transcripts are at most \(Self.maxTextBytes)") }
        guard let data = FileManager.default.contents(atPath: path), let s = String(data: data, encoding: .utf8) else {
            throw fail("earshot: \(path): not readable UTF-8 text")
        }
        return s
    }

    /// `{"words": [{"text", "start", "end"}], "audio_seconds", "audio_tokens", "prompt_tokens", "timings"}`.
    static func json(_ r: AlignmentResult, extra: [String: Any] = [:]) throws -> String {
        let words: [[String: Any]] = r.words.map { ["text": $0.text, "start": $0.start, "end": $0.end] }
        let timings = try JSONSerialization.jsonObject(with: JSONEncoder().encode(r.timings))
        var obj: [String: Any] = ["words": words, "audio_seconds": r.audioSeconds, "audio_tokens": r.audioTokens,
                                  "prompt_tokens": r.promptTokens, "timings": timings]
        obj.merge(extra) { a, _ in a }
        let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
