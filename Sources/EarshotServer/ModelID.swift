/// The rule for model ids. An id names a model in requests, in URL paths (`/v1/models/{id}`), in
/// metric labels and in logs, and never becomes a file name: requests are matched against the
/// configured ids as plain strings, and only the configured path of the matching model is opened.
/// Keeping ids to a small ASCII alphabet still means an id cannot look like a path (`../x`, `a/b`),
/// cannot carry a NUL or a line break into a log, and needs no escaping in a URL.
enum ModelID {
    static let maxBytes = 128

    /// Throws when `id` cannot be a model id, saying what is allowed.
    static func validate(_ id: String) throws(ServerConfigurationError) {
        let bytes = Array(id.utf8)
        guard !bytes.isEmpty, bytes.count <= maxBytes, bytes.first != UInt8(ascii: "."),
              bytes.allSatisfy(isAllowed) else {
            throw .invalidValue("models", "bad model id '\(LogSafe.escape(id, limit: 200))': use 1 to \(maxBytes) of A-Z a-z 0-9 . _ - : + @, "
                                + "not starting with '.' (name a model with NAME=PATH)")
        }
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "+"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }
}
