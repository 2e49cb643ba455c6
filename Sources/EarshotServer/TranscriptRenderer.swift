import EarshotRuntime
import Foundation

/// The server's response bodies for any caller: `earshot transcribe --format srt` writes exactly
/// what `POST /v1/audio/transcriptions` with `response_format=srt` returns for the same result.
public enum TranscriptRenderer {
    /// `json`, `text`, `verbose_json`, `srt`, `vtt`.
    public static let formats = ResponseFormat.allCases.map(\.rawValue)

    /// The file extension a format's document gets.
    public static func fileExtension(_ format: String) -> String {
        switch format {
        case "text": "txt"
        case "verbose_json": "json"
        default: format
        }
    }

    /// `result` as `format` (nil for an unknown format); `verbose_json` lists the words when the
    /// result has them. `maxLineChars` (srt/vtt, with words): cues are runs of whole words of at
    /// most that many characters (a longer single word is a cue of its own) instead of segments.
    public static func render(_ result: TranscriptionResult, format: String, task: TranscriptionTask = .transcribe,
                              maxLineChars: Int? = nil) -> String? {
        guard let f = ResponseFormat(rawValue: format) else { return nil }
        var document = TranscriptDocument(result: result)
        if let limit = maxLineChars, f == .srt || f == .vtt {
            let words = result.segments.flatMap { $0.words ?? [] }
            if !words.isEmpty { document.segments = wordCues(words, limit: limit) }
        }
        document.task = task.rawValue
        if result.segments.contains(where: { $0.words != nil }) {
            document.words = result.segments.flatMap { $0.words ?? [] }.map { .init(word: $0.word, start: $0.start, end: $0.end) }
        }
        return document.render(f).body
    }

    /// Consecutive words grouped into cues of at most `limit` characters (text trimmed).
    static func wordCues(_ words: [TranscriptWord], limit: Int) -> [TranscriptDocument.Segment] {
        var cues: [TranscriptDocument.Segment] = []
        var text = "", start = 0.0, end = 0.0
        for w in words {
            let candidate = (text + w.word).trimmingCharacters(in: .whitespaces)
            if !text.isEmpty, candidate.count > limit {
                cues.append(.init(start: start, end: end, text: text.trimmingCharacters(in: .whitespaces), tokens: []))
                text = ""
            }
            if text.isEmpty { start = w.start }
            text += w.word
            end = w.end
        }
        if !text.isEmpty { cues.append(.init(start: start, end: end, text: text.trimmingCharacters(in: .whitespaces), tokens: [])) }
        return cues
    }
}
