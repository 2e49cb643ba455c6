import EarshotRuntime
import Foundation

/// What `earshot bench wer` found: per-file word errors against the set's transcripts, their sum,
/// timing, and optionally how another engine's transcripts compare.
///
/// Words are cut by the speech set's rule (`WordErrorRate.Normalization.lettersDigitsApostrophes`)
/// and the total rate is summed over the set: all errors / all reference words, not a mean of
/// per-file rates.
public struct WERReport: Sendable, Codable, Equatable {
    /// One transcription as measured, before any scoring.
    public struct Measurement: Sendable, Equatable {
        public var item: SpeechSet.Item
        public var hypothesis: String
        /// Wall-clock seconds of the transcription (decoding the audio file excluded).
        public var seconds: Double
        public var audioSeconds: Double

        public init(item: SpeechSet.Item, hypothesis: String, seconds: Double, audioSeconds: Double) {
            self.item = item
            self.hypothesis = hypothesis
            self.seconds = seconds
            self.audioSeconds = audioSeconds
        }
    }

    public struct File: Sendable, Codable, Equatable {
        public var file: String
        public var reference: String
        public var hypothesis: String
        /// Reference words after normalisation.
        public var words: Int
        public var substitutions: Int
        public var deletions: Int
        public var insertions: Int
        /// errors / words for this file (0 or 1 for an empty reference, as `WordErrorRate.Counts.rate`).
        public var wer: Double
        public var seconds: Double
        public var audioSeconds: Double
        /// Whether the hypothesis equals the reference engine's text (both trimmed); nil without one.
        public var identicalToReference: Bool?

        public var errors: Int { substitutions + deletions + insertions }

        enum CodingKeys: String, CodingKey {
            case file, reference, hypothesis, words, substitutions, deletions, insertions, wer, seconds
            case audioSeconds = "audio_seconds", identicalToReference = "identical_to_reference"
        }
    }

    public struct Total: Sendable, Codable, Equatable {
        public var words: Int
        public var errors: Int
        /// errors / words (0 when there are no words).
        public var wer: Double
        public var seconds: Double
        public var audioSeconds: Double
        /// seconds / audioSeconds (0 without audio).
        public var rtf: Double

        enum CodingKeys: String, CodingKey {
            case words, errors, wer, seconds, rtf
            case audioSeconds = "audio_seconds"
        }
    }

    /// The reference engine's transcripts scored the same way, and how many Earshot matched exactly.
    public struct ReferenceEngine: Sendable, Codable, Equatable {
        /// Files whose Earshot text is identical to the reference engine's (after trimming whitespace).
        public var identical: Int
        /// The reference engine's WER over the set (summed, like `Total.wer`).
        public var wer: Double
    }

    public var model: String
    /// The weights as loaded: "q8", "q4" or "as stored".
    public var precision: String
    public var threads: Int
    public var files: [File]
    public var total: Total
    public var referenceEngine: ReferenceEngine?

    enum CodingKeys: String, CodingKey {
        case model, precision, threads, files, total
        case referenceEngine = "reference_engine"
    }

    static let normalization = WordErrorRate.Normalization.lettersDigitsApostrophes

    /// Scores `measurements`. With `referenceTexts` (file name -> text), every file also gets
    /// `identicalToReference` and the report a `referenceEngine`; a file missing from
    /// `referenceTexts` counts as an empty transcript there (callers check coverage first:
    /// `ReferenceTranscripts.check`).
    public init(model: String, precision: String, threads: Int, measurements: [Measurement],
                referenceTexts: [String: String]? = nil) {
        self.model = model
        self.precision = precision
        self.threads = threads
        files = measurements.map { m in
            let c = WordErrorRate.counts(reference: m.item.text, hypothesis: m.hypothesis, normalization: Self.normalization)
            let identical = referenceTexts.map { texts in
                Self.trimmed(texts[m.item.audio] ?? "") == Self.trimmed(m.hypothesis)
            }
            return File(file: m.item.audio, reference: m.item.text, hypothesis: m.hypothesis, words: c.referenceWords,
                        substitutions: c.substitutions, deletions: c.deletions, insertions: c.insertions, wer: c.rate,
                        seconds: m.seconds, audioSeconds: m.audioSeconds, identicalToReference: identical)
        }
        let words = files.reduce(0) { $0 + $1.words }, errors = files.reduce(0) { $0 + $1.errors }
        let seconds = files.reduce(0) { $0 + $1.seconds }, audio = files.reduce(0) { $0 + $1.audioSeconds }
        total = Total(words: words, errors: errors, wer: Self.rate(errors, words), seconds: seconds, audioSeconds: audio,
                      rtf: audio > 0 ? seconds / audio : 0)
        referenceEngine = referenceTexts.map { texts in
            var referenceErrors = 0
            for m in measurements {
                referenceErrors += WordErrorRate.counts(reference: m.item.text, hypothesis: texts[m.item.audio] ?? "",
                                                        normalization: Self.normalization).errors
            }
            return ReferenceEngine(identical: files.filter { $0.identicalToReference == true }.count,
                                   wer: Self.rate(referenceErrors, words))
        }
    }

    private static func rate(_ errors: Int, _ words: Int) -> Double { words > 0 ? Double(errors) / Double(words) : 0 }

    private static func trimmed(_ text: String) -> String { text.trimmingCharacters(in: .whitespacesAndNewlines) }

    // MARK: - Rendering

    /// `{"model", "precision", "threads", "files": [...], "total": {...}, "reference_engine"?}`,
    /// pretty-printed with sorted keys; optional fields are left out when absent.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// A Markdown table with one row per file, then the totals, timing and reference lines.
    public func table() -> String {
        typealias F = ReportFormatting
        let percent = { (v: Double) in F.number(100 * v, decimals: 1) }
        let withReference = referenceEngine != nil
        var header = ["File", "Reference", "Hypothesis", "Words", "S", "D", "I", "WER (%)"]
        if withReference { header.append("Same as ref") }
        let rows = files.map { f in
            var row = [F.markdownCell(f.file), F.markdownCell(f.reference), F.markdownCell(f.hypothesis), String(f.words),
                       String(f.substitutions), String(f.deletions), String(f.insertions), percent(f.wer)]
            if withReference { row.append(f.identicalToReference == true ? "yes" : "no") }
            return row
        }
        var out = SwitchReport.markdownTable(header: header, rows: rows, leftAligned: 3) + "\n"
        let s = files.reduce(0) { $0 + $1.substitutions }, d = files.reduce(0) { $0 + $1.deletions }
        let i = files.reduce(0) { $0 + $1.insertions }
        out += "WER: \(percent(total.wer))% (\(total.errors) errors = \(s) S + \(d) D + \(i) I, over \(total.words) words, \(files.count) files)\n"
        out += "Time: \(F.number(total.seconds, decimals: 2)) s transcribing \(F.number(total.audioSeconds, decimals: 2)) s of audio"
            + ", RTF \(F.number(total.rtf, decimals: 3)) (\(model), \(precision), \(threads) threads)\n"
        if let r = referenceEngine {
            out += "Reference engine: \(r.identical)/\(files.count) files identical; its WER \(percent(r.wer))%\n"
        }
        return out
    }
}
