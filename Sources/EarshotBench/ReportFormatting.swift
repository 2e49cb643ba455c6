import EarshotRuntime
import Foundation

/// Small text helpers shared by the benchmark renderers: locale-independent numbers, nice axis
/// steps, and escaping for CSV, Markdown and XML.
enum ReportFormatting {
    /// `value` with `decimals` digits after a '.', whatever the locale. Never prints "-0.0" and
    /// prints "nan" / "inf" / "-inf" rather than failing.
    static func number(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        let text = String(format: "%.\(decimals)f", locale: nil, value)
        // A small negative value rounds to "-0.00"; show it as zero.
        if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) {
            return String(text.dropFirst())
        }
        return text
    }

    /// `number` with an explicit '+' on positive values, for growth figures.
    static func signed(_ value: Double, decimals: Int) -> String {
        let text = number(value, decimals: decimals)
        return value > 0 && text.contains(where: { $0 != "0" && $0 != "." }) ? "+" + text : text
    }

    /// The smallest step of the form 1, 2 or 5 x 10^k that is >= `rough` (rough > 0).
    static func niceStep(_ rough: Double) -> Double {
        guard rough.isFinite, rough > 0 else { return 1 }
        let magnitude = pow(10, (log10(rough)).rounded(.down))
        for m in [1.0, 2, 5, 10] where m * magnitude >= rough * (1 - 1e-9) {
            return m * magnitude
        }
        return 10 * magnitude
    }

    /// An RFC 4180 field: quoted when it holds a comma, quote, CR or LF, with quotes doubled.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else {
            return text
        }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }

    /// Text safe in a Markdown table cell: pipes escaped, line breaks flattened to spaces.
    static func markdownCell(_ text: String) -> String {
        text.replacing("|", with: "\\|").replacing("\r\n", with: " ").replacing("\n", with: " ").replacing("\r", with: " ")
    }

    /// Text safe in XML character data and attribute values.
    static func xml(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // XML 1.0 forbids most C0 controls even when escaped; drop them.
            case "\u{0}"..."\u{8}", "\u{B}", "\u{C}", "\u{E}"..."\u{1F}", "\u{FFFE}", "\u{FFFF}": continue
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
