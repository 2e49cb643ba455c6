#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a small file that comes from outside (a config, a safetensors index, a vocabulary) whole,
/// with its size bounded *before* a byte is read.
///
/// `FileManager.contents(atPath:)` reads until end of file: a `config.json` that is a symlink to
/// `/dev/zero` never ends and grows the heap until the process dies, a FIFO blocks forever, and a
/// 10 GB file is read whole. Here the file is opened without blocking, must be a regular file no
/// larger than `limit`, and the read stops at `limit` even if the file grows meanwhile.
public enum SmallFile {
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case missing
        /// A directory, FIFO, device or socket.
        case notRegular
        case tooLarge(bytes: Int, limit: Int)
        case unreadable(String)

        public var description: String {
            switch self {
            case .missing: return "no such file"
            case .notRegular: return "not a regular file"
            case .tooLarge(let b, let l): return "\(b) bytes, more than the \(l)-byte limit for this file"
            case .unreadable(let r): return r
            }
        }
    }

    /// Limit for JSON configs (config.json, preprocessor_config.json, generation_config.json,
    /// tokenizer_config.json, safetensors indexes): real ones are a few kilobytes to a few hundred.
    public static let configLimit = 16 << 20
    /// Limit for vocabularies and merge lists (Qwen's tokenizer.json is 11 MB, vocab.json 2.8 MB).
    public static let vocabularyLimit = 64 << 20

    /// The bytes of `path`, or why not.
    public static func read(_ path: String, limit: Int) -> Result<[UInt8], Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let e = errno
            return .failure(e == ENOENT ? .missing : e == EISDIR ? .notRegular : .unreadable(String(cString: strerror(e))))
        }
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(.unreadable(String(cString: strerror(errno)))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return .failure(.notRegular) }
        let size = Int(st.st_size)
        guard size <= limit else { return .failure(.tooLarge(bytes: size, limit: limit)) }
        // One byte more than the limit, to notice a file that grew after fstat.
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while true {
            if filled == bytes.count {
                guard bytes.count <= limit else { return .failure(.tooLarge(bytes: bytes.count, limit: limit)) }
                bytes.append(contentsOf: repeatElement(0, count: min(max(bytes.count, 4096), limit + 1 - bytes.count)))
            }
            let n = bytes.withUnsafeMutableBytes { readBytes(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.unreadable(String(cString: strerror(errno))))
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeLast(bytes.count - filled)
        return .success(bytes)
    }
}

// `read` is shadowed inside `SmallFile` by its own `read(_:limit:)`.
private func readBytes(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, p, n) }
