import EarshotRuntime

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
    /// result has them.
    public static func render(_ result: TranscriptionResult, format: String, task: TranscriptionTask = .transcribe) -> String? {
        guard let f = ResponseFormat(rawValue: format) else { return nil }
        var document = TranscriptDocument(result: result)
        document.task = task.rawValue
        if result.segments.contains(where: { $0.words != nil }) {
            document.words = result.segments.flatMap { $0.words ?? [] }.map { .init(word: $0.word, start: $0.start, end: $0.end) }
        }
        return document.render(f).body
    }
}
