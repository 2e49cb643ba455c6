#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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

/// Tokenizer files larger than this are refused before reading (Qwen's tokenizer.json is 11 MB).
let tokenizerFileLimit = 64 << 20

/// Reads a whole file as bytes, mapping failures to `TokenizerError`. Only regular files of at
/// most `limit` bytes are read: a symlink to `/dev/zero` would otherwise be read forever and a
/// FIFO would block; the file is opened without blocking and its type checked first.
func readTokenizerFile(_ url: URL, limit: Int = tokenizerFileLimit) throws(TokenizerError) -> [UInt8] {
    let path = url.path
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else {
        let e = errno
        if e == ENOENT { throw .missingFile(path: path) }
        throw .unreadableFile(path: path, reason: e == EISDIR ? "is a directory" : String(cString: strerror(e)))
    }
    defer { _ = close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw .unreadableFile(path: path, reason: String(cString: strerror(errno))) }
    switch st.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: throw .unreadableFile(path: path, reason: "is a directory")
    default: throw .unreadableFile(path: path, reason: "is not a regular file")
    }
    guard Int(st.st_size) <= limit else {
        throw .unreadableFile(path: path, reason: "\(st.st_size) bytes, more than the \(limit)-byte limit")
    }
    // Read at most limit + 1 bytes, so a file growing after fstat is noticed rather than followed.
    var bytes = [UInt8](repeating: 0, count: limit + 1 < Int(st.st_size) + 4096 ? limit + 1 : Int(st.st_size) + 4096)
    var filled = 0
    while filled < bytes.count {
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
        if n < 0, errno == EINTR { continue }
        guard n >= 0 else { throw .unreadableFile(path: path, reason: String(cString: strerror(errno))) }
        if n == 0 { break }
        filled += n
    }
    guard filled <= limit else { throw .unreadableFile(path: path, reason: "grew past the \(limit)-byte limit while read") }
    bytes.removeLast(bytes.count - filled)
    return bytes
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
