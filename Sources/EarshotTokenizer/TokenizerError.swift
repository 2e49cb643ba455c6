import Foundation

/// Everything that can go wrong while loading a tokenizer.
///
/// Encoding and decoding never fail: unknown ids are skipped and invalid UTF-8 is replaced,
/// so only loading throws. Every case names the file it refers to and, where the problem has
/// a position, the 1-based line in that file, so a message is enough to find the fault.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A required file does not exist.
    case missingFile(path: String)
    /// The file exists but could not be read (permissions, I/O error, it is a directory...).
    case unreadableFile(path: String, reason: String)
    /// The file is not valid UTF-8 at the given line.
    case invalidUTF8(path: String, line: Int)
    /// The file is not well-formed JSON.
    case malformedJSON(path: String, line: Int, reason: String)
    /// The JSON is well-formed but not shaped as expected (a missing key, a wrong value type).
    case unexpectedJSON(path: String, line: Int, reason: String)
    /// A merge rule that is not two tokens separated by one space (or a two-element array).
    case malformedMerge(path: String, line: Int, text: String)
    /// A merge rule whose left part, right part or result is not in the vocabulary.
    case unknownMergeToken(path: String, line: Int, token: String)
    /// Two different tokens claim the same id.
    case duplicateID(path: String, line: Int, id: Int, first: String, second: String)
    /// A negative id, an id that is not an integer, or one of 2^24 or more.
    case invalidID(path: String, line: Int, id: String)
    /// A directory holds neither `vocab.json` + `merges.txt` nor `tokenizer.json`.
    case noTokenizerFiles(directory: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "tokenizer file not found: \(path)"
        case .unreadableFile(let path, let reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case .invalidUTF8(let path, let line):
            return "\(path):\(line): invalid UTF-8"
        case .malformedJSON(let path, let line, let reason):
            return "\(path):\(line): malformed JSON: \(reason)"
        case .unexpectedJSON(let path, let line, let reason):
            return "\(path):\(line): unexpected JSON content: \(reason)"
        case .malformedMerge(let path, let line, let text):
            return "\(path):\(line): malformed merge rule \(text.debugDescription) "
                + "(expected two tokens separated by one space)"
        case .unknownMergeToken(let path, let line, let token):
            return "\(path):\(line): merge rule refers to \(token.debugDescription), "
                + "which is not in the vocabulary"
        case .duplicateID(let path, let line, let id, let first, let second):
            return "\(path):\(line): id \(id) is used by both \(first.debugDescription) "
                + "and \(second.debugDescription)"
        case .invalidID(let path, let line, let id):
            return "\(path):\(line): invalid token id \(id)"
        case .noTokenizerFiles(let directory):
            return "no tokenizer files in \(directory): expected vocab.json + merges.txt "
                + "(+ tokenizer_config.json) or tokenizer.json"
        }
    }
}

/// Reads a whole file as bytes, mapping failures to `TokenizerError`.
func readTokenizerFile(_ url: URL) throws(TokenizerError) -> [UInt8] {
    let path = url.path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw .missingFile(path: path)
    }
    if isDirectory.boolValue {
        throw .unreadableFile(path: path, reason: "is a directory")
    }
    do {
        let data = try Data(contentsOf: url)
        return [UInt8](data)
    } catch {
        throw .unreadableFile(path: path, reason: error.localizedDescription)
    }
}

/// The 1-based line of byte `offset` in `bytes` (counts `\n` before it).
func lineNumber(in bytes: [UInt8], at offset: Int) -> Int {
    var line = 1
    var index = 0
    let end = min(offset, bytes.count)
    while index < end {
        if bytes[index] == 0x0A { line += 1 }
        index += 1
    }
    return line
}
