/// Makes a client-supplied string safe to put in a log line: control characters (line breaks
/// above all, which would let a client forge whole log lines), DEL, the C1 controls and the
/// Unicode line and paragraph separators are written as escapes, a backslash is doubled so an
/// escape cannot be faked, and the text is cut at `limit` characters.
enum LogSafe {
    static func escape(_ text: String, limit: Int = 500) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            guard count < limit else {
                out += "..."
                break
            }
            count += 1
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
