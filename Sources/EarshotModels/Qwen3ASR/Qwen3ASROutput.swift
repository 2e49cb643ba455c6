import Foundation

/// Parses the model's raw output into (language, text), as the official `parse_asr_output`
/// (`parse_asr_output` in the official `qwen_asr/inference/utils.py`): `language English<asr_text>Today we ...`, or `language None<asr_text>` for silence.
public enum Qwen3ASROutput {
    public static let separator = "<asr_text>"

    /// - Parameters:
    ///   - raw: generated ids decoded with special tokens skipped (`<asr_text>` is not special).
    ///   - forcedLanguage: the language given in the prompt, if any; the output is then all text.
    public static func parse(_ raw: String, forcedLanguage: String?) -> (language: String, text: String) {
        let stripped = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !stripped.isEmpty else { return ("", "") }
        let s = fixRepetitions(stripped, threshold: 20)
        if let forcedLanguage { return (forcedLanguage, s) }
        guard let sep = s.range(of: separator) else { return ("", s) }
        let meta = s[..<sep.lowerBound]
        let text = s[sep.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        if meta.lowercased().contains("language none") { return ("", text) }
        var language = ""
        for line in meta.split(whereSeparator: \.isNewline) {
            let l = line.trimmingCharacters(in: .whitespaces)
            if l.hasPrefix("language ") {
                let name = l.dropFirst("language ".count).trimmingCharacters(in: .whitespaces)
                language = name.isEmpty ? "" : name.prefix(1).uppercased() + name.dropFirst().lowercased()
                break
            }
        }
        return (language, text)
    }

    /// Collapses runaway repetitions: a character repeated more than `threshold` times in a row
    /// becomes one, and a substring of 1...threshold characters repeated at least `threshold`
    /// times consecutively becomes one copy.
    public static func fixRepetitions(_ text: String, threshold: Int) -> String {
        var chars = Array(text)
        // Runs of one character.
        var out: [Character] = []
        out.reserveCapacity(chars.count)
        var i = 0
        while i < chars.count {
            var j = i
            while j < chars.count && chars[j] == chars[i] { j += 1 }
            if j - i > threshold { out.append(chars[i]) } else { out.append(contentsOf: chars[i..<j]) }
            i = j
        }
        chars = out
        // Repeated substrings, scanning left to right.
        out = []
        i = 0
        let n = chars.count
        while i < n {
            var collapsed = false
            var k = 1
            while k <= threshold && i + k * threshold <= n {
                var reps = 1
                while i + (reps + 1) * k <= n && chars[(i + reps * k)..<(i + (reps + 1) * k)] == chars[i..<(i + k)] {
                    reps += 1
                }
                if reps >= threshold {
                    out.append(contentsOf: chars[i..<(i + k)])
                    i += reps * k
                    collapsed = true
                    break
                }
                k += 1
            }
            if !collapsed {
                out.append(chars[i])
                i += 1
            }
        }
        return String(out)
    }
}
