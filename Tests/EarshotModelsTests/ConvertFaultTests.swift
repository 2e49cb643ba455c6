import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotModels

/// `earshot convert` writes a temporary file in the destination directory and renames it into
/// place when complete: a write that fails half way (a full disk, simulated with RLIMIT_FSIZE)
/// leaves no file at the destination, no temporary file, and an existing destination untouched.
@Suite(.serialized) struct ConvertFaultTests {
    /// Runs `body` with files limited to `bytes` (writes past it fail with EFBIG; SIGXFSZ ignored).
    func withFileSizeLimit<T>(_ bytes: Int, _ body: () throws -> T) rethrows -> T {
        var limit = rlimit()
        getrlimit(RLIMIT_FSIZE_, &limit)
        let saved = limit
        let previous = signal(SIGXFSZ, SIG_IGN)
        limit.rlim_cur = rlim_t(bytes)
        setrlimit(RLIMIT_FSIZE_, &limit)
        defer {
            var restore = saved
            setrlimit(RLIMIT_FSIZE_, &restore)
            signal(SIGXFSZ, previous)
        }
        return try body()
    }

    @Test func aConvertThatFailsHalfWayLeavesNothingAtTheDestination() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("convert-fault-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("tiny.gguf").path
        var failure: ModelError?
        withFileSizeLimit(4 << 20) {
            do throws(ModelError) { try ModelConverter.convert(directory: Fixtures.qwenTinyModel.path, to: out, quant: .q8) } catch { failure = error }
        }
        guard case .container(.writeFailed(let path, _)) = failure else { Issue.record("\(String(describing: failure))"); return }
        #expect(path == out)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "a partial or temporary file was left")

        // An existing destination stays as it was when a convert over it fails.
        let previous = Data("previous contents".utf8)
        try previous.write(to: URL(fileURLWithPath: out))
        withFileSizeLimit(4 << 20) {
            #expect(throws: ModelError.self) { try ModelConverter.convert(directory: Fixtures.qwenTinyModel.path, to: out, quant: .q8) }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == previous)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["tiny.gguf"])

        // A temporary file left by a killed convert (its process is gone) is removed by the next
        // convert to the same destination; one of a live process is left alone.
        let stale = dir.appendingPathComponent(".tiny.gguf.tmp-999999999-1")
        let live = dir.appendingPathComponent(".tiny.gguf.tmp-1-2")   // pid 1 exists
        try Data("partial".utf8).write(to: stale)
        try Data("partial".utf8).write(to: live)
        // Without the limit the same convert completes and loads.
        try ModelConverter.convert(directory: Fixtures.qwenTinyModel.path, to: out, quant: .q8)
        let model = try Qwen3ASRModel(directory: out)
        model.close()
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(FileManager.default.fileExists(atPath: live.path))
    }
}

#if canImport(Glibc)
import Glibc
private let RLIMIT_FSIZE_ = Int32(RLIMIT_FSIZE.rawValue)
#endif
