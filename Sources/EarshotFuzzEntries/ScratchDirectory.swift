import Foundation

/// Files for the parsers that read a directory rather than bytes (a safetensors index and its
/// shards, a model directory's config.json, a Whisper vocabulary). One directory per process,
/// under /dev/shm when it exists (a fuzzer rewrites these files thousands of times a second),
/// removed at exit; one subdirectory per target, so different targets can run concurrently.
/// One target's entry must not run on two threads at once (its files would be shared).
enum ScratchDirectory {
    static let root: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = (base as NSString).appendingPathComponent("earshot-fuzz-\(getpid())-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: ScratchDirectory.root) }
        return path
    }()

    /// The (existing) directory of `target`.
    static func directory(_ target: String) -> String {
        let path = (root as NSString).appendingPathComponent(target)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `bytes` as `name` in `directory` (replacing it), with plain system calls: no
    /// temporary-file-and-rename, which would double the cost of every fuzz iteration.
    @discardableResult
    static func write(_ bytes: UnsafeRawBufferPointer, _ name: String, in directory: String) -> String {
        let path = (directory as NSString).appendingPathComponent(name)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "cannot create \(path): \(String(cString: strerror(errno)))")
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
            precondition(n > 0, "cannot write \(path): \(String(cString: strerror(errno)))")
            done += n
        }
        return path
    }

    static func write(_ bytes: [UInt8], _ name: String, in directory: String) {
        _ = bytes.withUnsafeBytes { write($0, name, in: directory) }
    }

    static func remove(_ name: String, in directory: String) {
        unlink((directory as NSString).appendingPathComponent(name))
    }
}
