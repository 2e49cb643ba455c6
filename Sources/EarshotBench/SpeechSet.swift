import EarshotRuntime
import Foundation

/// A directory of recorded speech with reference transcripts: `transcripts.json` holds
/// `{"items": [{"audio": "h01.wav", "text": "The birch canoe ...", ...}]}`, audio paths relative
/// to the directory. Other fields (`voice`, `source`) are ignored. `Tests/Fixtures/speech` is one.
public struct SpeechSet: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        /// The file name as `transcripts.json` gives it (the key reference transcripts use).
        public var audio: String
        /// What the recording says.
        public var text: String
        /// `audio` resolved against the set's directory.
        public var path: String

        public init(audio: String, text: String, path: String) {
            self.audio = audio
            self.text = text
            self.path = path
        }
    }

    public var directory: String
    public var items: [Item]

    public init(directory: String, items: [Item]) {
        self.directory = directory
        self.items = items
    }

    /// Reads `directory/transcripts.json` and checks that every audio file it names exists.
    public static func load(directory: String) throws(SpeechSetError) -> SpeechSet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .missingDirectory(directory)
        }
        let dir = URL(fileURLWithPath: directory)
        let manifest = dir.appendingPathComponent("transcripts.json").path
        guard let data = FileManager.default.contents(atPath: manifest) else { throw .missingTranscripts(manifest) }
        let decoded: Manifest
        do {
            decoded = try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw .malformed(path: manifest, reason: Self.describe(error))
        }
        guard !decoded.items.isEmpty else { throw .empty(manifest) }
        var seen: Set<String> = []
        var items: [Item] = []
        for entry in decoded.items {
            guard seen.insert(entry.audio).inserted else { throw .duplicateAudio(path: manifest, audio: entry.audio) }
            let path = entry.audio.hasPrefix("/") ? entry.audio : dir.appendingPathComponent(entry.audio).path
            guard FileManager.default.fileExists(atPath: path) else { throw .missingAudio(path) }
            items.append(Item(audio: entry.audio, text: entry.text, path: path))
        }
        return SpeechSet(directory: directory, items: items)
    }

    private struct Manifest: Decodable {
        struct Entry: Decodable {
            var audio: String
            var text: String
        }
        var items: [Entry]
    }

    /// A decoding error in one line, naming the JSON path where it went wrong.
    private static func describe(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "the top level" : keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case DecodingError.keyNotFound(let key, let c): return "missing '\(key.stringValue)' at \(path(c.codingPath))"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "wrong type at \(path(c.codingPath)): \(c.debugDescription)"
        case DecodingError.dataCorrupted(let c):
            return c.codingPath.isEmpty ? "not valid JSON" : "invalid value at \(path(c.codingPath))"
        default: return "\(error)"
        }
    }
}

/// Why a speech set or a reference transcript file could not be used.
public enum SpeechSetError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingDirectory(String)
    case missingTranscripts(String)
    case malformed(path: String, reason: String)
    case empty(String)
    case duplicateAudio(path: String, audio: String)
    case missingAudio(String)
    /// The reference file exists but `key` does not lead to a `{file: text}` object.
    case referenceKeyNotFound(path: String, key: String, available: [String])
    /// The reference transcripts have no text for a file of the set.
    case referenceMissingFile(path: String, audio: String)

    public var description: String {
        switch self {
        case .missingDirectory(let d): return "speech set \(d): no such directory"
        case .missingTranscripts(let p): return "speech set: \(p) is missing"
        case .malformed(let p, let reason): return "\(p): \(reason)"
        case .empty(let p): return "\(p): no items"
        case .duplicateAudio(let p, let a): return "\(p): \(a) is listed twice"
        case .missingAudio(let p): return "speech set: audio file \(p) is missing"
        case .referenceKeyNotFound(let p, let key, let available):
            let keys = available.isEmpty ? "" : "; keys there: \(available.joined(separator: ", "))"
            return "\(p): no object of file -> text at '\(key)'\(keys)"
        case .referenceMissingFile(let p, let a): return "\(p): no reference text for \(a)"
        }
    }
}
