import EarshotRuntime
import Foundation

/// Another engine's transcripts of a speech set, for `earshot bench wer --reference-json`: a JSON
/// object mapping file name to text, either the whole file or an object inside it named by a
/// dotted key.
///
/// Keys may themselves contain dots (`"tiny.en"`), so `tiny.en.float32` is matched against the
/// keys present, not just cut at every dot. The key is looked up from the top of the file first;
/// when it is not found there, every nested object is tried and a single match is used (so
/// `tiny.en.float32` finds `models.tiny.en.float32`). Only objects whose values are all strings
/// count as a match.
public enum ReferenceTranscripts {
    /// The `{file: text}` object at `key` (nil or empty: the whole file) in the JSON file at `path`.
    public static func load(path: String, key: String?) throws(SpeechSetError) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .malformed(path: path, reason: "cannot read the file")
        }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw .malformed(path: path, reason: "not valid JSON")
        }
        return try select(root, key: key ?? "", path: path)
    }

    /// Throws unless `texts` has a transcript for every item of `set`.
    public static func check(_ texts: [String: String], covers set: SpeechSet, path: String) throws(SpeechSetError) {
        for item in set.items where texts[item.audio] == nil {
            throw .referenceMissingFile(path: path, audio: item.audio)
        }
    }

    /// `load` on an already parsed JSON value (`JSONSerialization` types).
    static func select(_ root: Any, key: String, path: String) throws(SpeechSetError) -> [String: String] {
        let parts = key.isEmpty ? [] : key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if let found = resolve(root, parts) { return found }
        var matches: [[String: String]] = []
        if !parts.isEmpty { collect(root, parts, isRoot: true, into: &matches) }
        if matches.count == 1 { return matches[0] }
        let available = (root as? [String: Any]).map { $0.keys.sorted() } ?? []
        throw .referenceKeyNotFound(path: path, key: key.isEmpty ? "(top level)" : key,
                                    available: matches.count > 1 ? ["(\(matches.count) nested matches)"] : available)
    }

    /// Follows `parts` down from `value`, trying every way of grouping them into dotted keys
    /// (longest key first); the first grouping ending at a string-valued object wins.
    private static func resolve(_ value: Any, _ parts: [String]) -> [String: String]? {
        guard !parts.isEmpty else { return transcripts(value) }
        guard let object = value as? [String: Any] else { return nil }
        for n in stride(from: parts.count, through: 1, by: -1) {
            if let child = object[parts[0..<n].joined(separator: ".")], let found = resolve(child, Array(parts[n...])) {
                return found
            }
        }
        return nil
    }

    /// Every nested object (below the root) from which `parts` resolves.
    private static func collect(_ value: Any, _ parts: [String], isRoot: Bool, into matches: inout [[String: String]]) {
        if !isRoot, let found = resolve(value, parts) { matches.append(found) }
        if let object = value as? [String: Any] {
            for key in object.keys.sorted() { collect(object[key]!, parts, isRoot: false, into: &matches) }
        } else if let array = value as? [Any] {
            for element in array { collect(element, parts, isRoot: false, into: &matches) }
        }
    }

    /// `value` as a non-empty `{file: text}` object, or nil.
    private static func transcripts(_ value: Any) -> [String: String]? {
        guard let object = value as? [String: Any], !object.isEmpty else { return nil }
        var out: [String: String] = [:]
        for (k, v) in object {
            guard let text = v as? String else { return nil }
            out[k] = text
        }
        return out
    }
}
