import EarshotRuntime
import Foundation

extension SwitchReport {
    /// Everything `json` writes, for reading a report back (`decode`).
    public struct Document: Sendable, Codable, Equatable {
        public var metadata: [String: String]
        public var summary: SwitchSummary
        public var steps: [SwitchStep]

        public init(metadata: [String: String], summary: SwitchSummary, steps: [SwitchStep]) {
            self.metadata = metadata
            self.summary = summary
            self.steps = steps
        }
    }

    /// `{"metadata": ..., "steps": [...], "summary": ...}`, pretty-printed, keys sorted, property
    /// names in snake_case (`rss_anon_bytes`, `avg_ttft_ms`). Metadata keys are written as given. Non-finite numbers become the strings
    /// "inf", "-inf", "nan".
    public static func json(_ steps: [SwitchStep], summary: SwitchSummary,
                            metadata: [String: String] = [:]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Foundation's .convertToSnakeCase would also rewrite dictionary keys, and its inverse
        // cannot restore acronyms (avg_ttft_ms -> avgTtftMs, not avgTTFTMs), so decoding would
        // fail. Instead only the known property names are mapped, both ways, by one table.
        encoder.keyEncodingStrategy = .custom { path in
            let key = path.last?.stringValue ?? ""
            return JSONKey(JSONKeys.snakeForProperty[key] ?? key)
        }
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(Document(metadata: metadata, summary: summary, steps: steps))
    }

    /// Reads back what `json` wrote.
    public static func decode(_ data: Data) throws -> Document {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in
            let key = path.last?.stringValue ?? ""
            return JSONKey(JSONKeys.propertyForSnake[key] ?? key)
        }
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(Document.self, from: data)
    }
}

private struct JSONKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The property names of every type in a `Document`, and their snake_case forms.
private enum JSONKeys {
    static let snakeForProperty: [String: String] = {
        var table: [String: String] = [:]
        for name in propertyNames() { table[name] = snakeCase(name) }
        return table
    }()

    static let propertyForSnake: [String: String] = {
        Dictionary(snakeForProperty.map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }()

    /// Found by encoding a sample with every optional set and every dictionary empty: then each
    /// key in the output is a property name. New fields of `MemoryReport` or `SwitchStep` join
    /// the table on their own.
    private static func propertyNames() -> Set<String> {
        let r = MemoryReport()
        let step = SwitchStep(iteration: 0, model: "", beforeLoad: r, afterLoad: r, afterTranscribe: r,
                              afterUnload: r, loadMs: 0, ttftMs: 0, transcribeMs: 0, unloadMs: 0, text: "", wer: 0,
                              audio: "", wordErrors: .init(substitutions: 0, deletions: 0, insertions: 0, referenceWords: 0))
        let doc = SwitchReport.Document(metadata: [:], summary: SwitchSummary(steps: [step]), steps: [step])
        guard let data = try? JSONEncoder().encode(doc),
              let object = try? JSONSerialization.jsonObject(with: data) else { return [] }
        var names: Set<String> = []
        func walk(_ value: Any) {
            if let dict = value as? [String: Any] {
                for (k, v) in dict { names.insert(k); walk(v) }
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(object)
        return names
    }

    /// camelCase to snake_case, keeping acronyms whole: avgTTFTMs -> avg_ttft_ms,
    /// peakRSSBytes -> peak_rss_bytes.
    static func snakeCase(_ name: String) -> String {
        let chars = Array(name)
        var out = ""
        for (i, c) in chars.enumerated() {
            if c.isUppercase, i > 0 {
                let previous = chars[i - 1]
                let nextIsLower = i + 1 < chars.count && chars[i + 1].isLowercase
                // A word starts after a lowercase letter or digit, or at the last capital of an acronym.
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) {
                    out.append("_")
                }
            }
            out += c.lowercased()
        }
        return out
    }
}
