import EarshotRuntime
import Foundation

/// The `response_format` values of OpenAI's `/v1/audio/transcriptions`.
enum ResponseFormat: String, Sendable, CaseIterable {
    case json, text, verboseJSON = "verbose_json", srt, vtt

    /// JSON is UTF-8 by definition (RFC 8259), so it carries no charset. SubRip has no registered
    /// media type; like OpenAI we send it as plain text, which every client reads as a string.
    var contentType: String {
        switch self {
        case .json, .verboseJSON: "application/json"
        case .text, .srt: "text/plain; charset=utf-8"
        case .vtt: "text/vtt; charset=utf-8"
        }
    }
}

/// A finished transcription, ready to render in any `ResponseFormat`.
struct TranscriptDocument: Sendable, Equatable {
    /// One decoded pass (the whole clip for audio under 20 minutes).
    struct Segment: Sendable, Equatable {
        var start: Double
        var end: Double
        var text: String
        var tokens: [Int]
        /// Mean log-probability of the segment's tokens; nil when the decoder did not record it,
        /// rendered as 0 (OpenAI documents values below -1 as failed decoding, so 0 never flags).
        var avgLogprob: Double?
        /// What the decoder recorded for the segment's window (Whisper); nil: not recorded.
        var temperature: Double?
        var compressionRatio: Double?
        var noSpeechProb: Double?

        init(start: Double, end: Double, text: String, tokens: [Int], avgLogprob: Double? = nil,
             temperature: Double? = nil, compressionRatio: Double? = nil, noSpeechProb: Double? = nil) {
            self.temperature = temperature
            self.compressionRatio = compressionRatio
            self.noSpeechProb = noSpeechProb
            self.start = start
            self.end = end
            self.text = text
            self.tokens = tokens
            self.avgLogprob = avgLogprob
        }
    }

    /// One word with its times (Whisper word timestamps), as OpenAI's `TranscriptionWord`.
    struct Word: Sendable, Equatable {
        var word: String
        var start: Double
        var end: Double
    }

    var text: String
    /// As the runtime reports it ("English", "English,Chinese", or "" when unknown).
    var language: String
    /// Seconds of audio.
    var duration: Double
    var segments: [Segment]
    /// `verbose_json`'s word list; nil when words were not asked for.
    var words: [Word]? = nil
    /// `verbose_json` lists segments (OpenAI: unless only word granularity was asked for).
    var listsSegments = true
    /// `verbose_json`'s `task`: "transcribe" or "translate".
    var task = "transcribe"

    /// Timestamps are clamped into [0, 99:59:59.999]: SubRip players expect two-digit hours, and a
    /// 25 MB upload is far shorter. NaN and negative values become 0.
    static let maxSeconds = 359_999.999

    static func clampedSeconds(_ seconds: Double) -> Double {
        guard !seconds.isNaN, seconds > 0 else { return 0 }
        return min(seconds, maxSeconds)
    }

    /// The segments to render: when there are none but there is text, one segment spanning the
    /// whole clip, so every format shows the text.
    var renderedSegments: [Segment] {
        if segments.isEmpty, !text.isEmpty { return [Segment(start: 0, end: duration, text: text, tokens: [])] }
        return segments
    }

    func render(_ format: ResponseFormat) -> (body: String, contentType: String) {
        let body: String
        switch format {
        case .json: body = Self.encode(JSONBody(text: text, usage: usage))
        case .text: body = text + "\n"
        case .verboseJSON: body = Self.encode(verbose)
        case .srt: body = subRip
        case .vtt: body = webVTT
        }
        return (body, format.contentType)
    }

    // MARK: JSON

    private struct Usage: Encodable {
        var type = "duration"
        var seconds: Int
    }

    private struct JSONBody: Encodable {
        var text: String
        var usage: Usage
    }

    /// Keys as in the openai package's `TranscriptionVerbose` (plus Whisper's `task`).
    private struct VerboseBody: Encodable {
        var task: String
        var language: String
        var duration: Double
        var text: String
        var segments: [VerboseSegment]?
        var words: [VerboseWord]?
        var usage: Usage
    }

    /// Keys as in the openai package's `TranscriptionWord`.
    private struct VerboseWord: Encodable {
        var word: String
        var start: Double
        var end: Double
    }

    /// Keys as in the openai package's `TranscriptionSegment`.
    private struct VerboseSegment: Encodable {
        var id: Int
        var seek: Int
        var start: Double
        var end: Double
        var text: String
        var tokens: [Int]
        var temperature: Double
        var avgLogprob: Double
        var compressionRatio: Double
        var noSpeechProb: Double

        enum CodingKeys: String, CodingKey {
            case id, seek, start, end, text, tokens, temperature
            case avgLogprob = "avg_logprob", compressionRatio = "compression_ratio", noSpeechProb = "no_speech_prob"
        }
    }

    /// Billed seconds, rounded up as OpenAI does.
    private var usage: Usage { Usage(seconds: Int(Self.clampedSeconds(duration).rounded(.up))) }

    /// Times in JSON are rounded to milliseconds (the precision of SRT and VTT), which also keeps
    /// sample-count artefacts like 5.2500625 out of the output.
    private static func milliseconds(_ seconds: Double) -> Double { (clampedSeconds(seconds) * 1000).rounded() / 1000 }

    private var verbose: VerboseBody {
        let segments = renderedSegments.enumerated().map { index, segment in
            let start = Self.milliseconds(segment.start)
            return VerboseSegment(
                id: index,
                // Whisper's seek counts 10 ms mel frames.
                seek: Int((start * 100).rounded(.down)),
                start: start, end: max(start, Self.milliseconds(segment.end)),
                text: segment.text, tokens: segment.tokens,
                temperature: segment.temperature ?? 0,
                avgLogprob: segment.avgLogprob.flatMap { $0.isFinite ? $0 : nil } ?? 0,
                compressionRatio: segment.compressionRatio ?? CompressionRatio.of(segment.text),
                noSpeechProb: segment.noSpeechProb.flatMap { $0.isFinite ? $0 : nil } ?? 0)
        }
        // Words as OpenAI spells them: without Whisper's leading space.
        let words = self.words?.map {
            VerboseWord(word: $0.word.trimmingCharacters(in: .whitespaces), start: Self.milliseconds($0.start),
                        end: max(Self.milliseconds($0.start), Self.milliseconds($0.end)))
        }
        return VerboseBody(task: task, language: language.lowercased(), duration: Self.milliseconds(duration), text: text,
                           segments: listsSegments ? segments : nil, words: words, usage: usage)
    }

    /// Every Double reaching the encoder is finite (clamped above), so encoding cannot fail; the
    /// fallback exists only to keep `render` non-throwing.
    private static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: Subtitles

    /// `HH:MM:SS` + separator + milliseconds, rounded to the nearest millisecond.
    static func timestamp(_ seconds: Double, separator: Character) -> String {
        let total = Int((clampedSeconds(seconds) * 1000).rounded())
        let (hours, minutes, secs, millis) = (total / 3_600_000, total / 60_000 % 60, total / 1000 % 60, total % 1000)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(hours, 2)):\(pad(minutes, 2)):\(pad(secs, 2))\(separator)\(pad(millis, 3))"
    }

    /// Cue text: line breaks normalised to `\n`, and no blank or whitespace-only lines (a blank
    /// line ends a cue in both formats).
    static func cueText(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: "\n")
    }

    /// `(start, end, text)` of every cue; segments with no text are skipped so numbering stays
    /// consecutive and no cue is empty.
    private var cues: [(start: Double, end: Double, text: String)] {
        renderedSegments.compactMap { segment in
            let text = Self.cueText(segment.text)
            return text.isEmpty ? nil : (segment.start, max(segment.start, segment.end), text)
        }
    }

    private var subRip: String {
        cues.enumerated().map { index, cue in
            "\(index + 1)\n\(Self.timestamp(cue.start, separator: ",")) --> \(Self.timestamp(cue.end, separator: ","))\n\(cue.text)\n\n"
        }.joined()
    }

    /// WebVTT cue text is markup: `&`, `<` and `>` are escaped, which also keeps `-->` out of it.
    private var webVTT: String {
        "WEBVTT\n\n" + cues.map { cue in
            let text = cue.text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
            return "\(Self.timestamp(cue.start, separator: ".")) --> \(Self.timestamp(cue.end, separator: "."))\n\(text)\n\n"
        }.joined()
    }
}

/// The `stream=true` events of `/v1/audio/transcriptions` (OpenAI's `transcript.text.delta` and
/// `transcript.text.done`), each one complete `data:` line plus the blank line that ends an event.
/// Built by hand so `type` comes first as in OpenAI's stream; the JSON string escaping guarantees
/// the payload is one line.
enum ServerSentEvent {
    static func delta(_ text: String) -> String {
        "data: {\"type\":\"transcript.text.delta\",\"delta\":\(jsonString(text))}\n\n"
    }

    static func done(text: String) -> String {
        "data: {\"type\":\"transcript.text.done\",\"text\":\(jsonString(text))}\n\n"
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped; other characters,
    /// non-ASCII included, kept as UTF-8. U+2028 and U+2029 are escaped too, since JavaScript
    /// consumers older than ES2019 treat them as line terminators.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{2028}", "\u{2029}": out += "\\u\(String(scalar.value, radix: 16))"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
