#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// How far the resident set rises while a piece of code runs: the peak (`VmHWM`) is reset through
/// `/proc/self/clear_refs` first, so the measure is this code's own high-water mark above the
/// resident set it started from, heap and mappings alike. Tests run serially (`--no-parallel`),
/// so other tests do not add to it; the kernel's RSS counters are exact to a few pages.
public enum PeakMemory {
    /// Runs `body` and returns its result with the rise of the peak resident set in bytes (nil
    /// where the peak cannot be reset, e.g. not Linux).
    public static func rise<T>(_ body: () throws -> T) rethrows -> (result: T, bytes: Int?) {
        let reset = resetPeak()
        let before = status("VmRSS")
        let result = try body()
        guard reset, let before, let peak = status("VmHWM") else { return (result, nil) }
        return (result, max(0, peak - before))
    }

    /// Writes "5" to `/proc/self/clear_refs`: the peak becomes the current resident set.
    static func resetPeak() -> Bool {
        #if os(Linux)
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
        #else
        return false
        #endif
    }

    /// A `kB` field of `/proc/self/status`, in bytes.
    static func status(_ key: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let digits = line.dropFirst(key.count + 1).filter(\.isNumber)
            return Int(digits).map { $0 * 1024 }
        }
        return nil
    }

    /// `bytes` in MB with one decimal, for messages.
    public static func mb(_ bytes: Int?) -> String {
        bytes.map { String(format: "%.1f MB", Double($0) / 1_048_576) } ?? "unknown"
    }
}
