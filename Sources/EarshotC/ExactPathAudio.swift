#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EarshotAudio
import Foundation

/// An audio file named by bytes that are not UTF-8 (legal on Linux, and what Python's
/// `os.fsencode` passes for such a name).
///
/// Why not `String(cString:)`: it repairs invalid UTF-8 into U+FFFD, so the file that exists
/// would be reported "not found" (or a different file opened). Such a path is opened here by its
/// exact bytes, checked to be a regular file, mapped read-only and decoded from memory, exactly as
/// `AudioDecoder.load` decodes a mapped file. Messages show the name with the bad bytes replaced.
enum ExactPathAudio {
    static func load(_ path: UnsafePointer<CChar>, limits: AudioDecodeLimits = .none) throws(AudioError) -> AudioSamples {
        let shown = String(decoding: UnsafeRawBufferPointer(start: path, count: strlen(path)), as: UTF8.self)
        let name = (shown as NSString).lastPathComponent
        // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw .fileNotFound(path: shown) }
            throw .unreadable(path: shown, reason: String(cString: strerror(code)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .unreadable(path: shown, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .unreadable(path: shown, reason: "not a regular file") }
        let size = Int(st.st_size)
        guard size > 0 else { throw .emptyAudio(name: name) }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
            throw .unreadable(path: shown, reason: String(cString: strerror(errno)))
        }
        defer { munmap(mapped, size) }
        return try AudioDecoder.decode(bytes: UnsafeRawBufferPointer(start: mapped, count: size), name: name, limits: limits)
    }
}
