import EarshotAudio
import EarshotModels
import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotRuntime

/// Faults of model files after or during load: a weight file truncated while mapped is refused
/// before it is read (no SIGBUS), the copy-on-load safe mode is immune to it, and a refused
/// mapping at load is a typed error while the other models keep serving.
@Suite(.serialized) struct ModelFileFaultTests {
    /// A private copy (real files, not links) of a micro checkpoint, so it can be truncated.
    func copy(of source: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fault-\(UUID())")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: source), to: dir)
        return dir
    }

    func transcribes(_ m: ModelManager, _ name: String) async -> Bool {
        (try? await m.transcribe(ManagerFixtures.short, model: name, options: TranscriptionOptions(maxNewTokens: 2))) != nil
    }

    @Test func weightFileTruncatedWhileMappedIsRefusedNotACrash() async throws {
        let dir = try copy(of: ManagerFixtures.microA)
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = try await ManagerFixtures.manager()
        try await m.register("victim", directory: dir.path)
        try await m.load("victim")
        try await m.load("b")
        #expect(await transcribes(m, "victim"))
        // Truncate in place (same inode): reading the lost pages would raise SIGBUS.
        let weights = dir.appendingPathComponent("model.safetensors").path
        #expect(truncate(weights, 100) == 0)
        do {
            _ = try await m.transcribe(ManagerFixtures.short, model: "victim", options: TranscriptionOptions(maxNewTokens: 2))
            Issue.record("a truncated weight file was used")
        } catch {
            guard case .model(.weightsChanged(let message)) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("model.safetensors") && message.contains("shrank"), "\(message)")
        }
        // The other model keeps serving; reloading the victim reads the truncated file: a typed error.
        #expect(await transcribes(m, "b"))
        try await m.unload("victim")
        await #expect(throws: RuntimeError.self) { try await m.load("victim") }
        #expect(await transcribes(m, "b"))
        try await m.unload("b")
    }

    @Test func aFileReplacedByRenameKeepsServingTheMappedOne() async throws {
        let dir = try copy(of: ManagerFixtures.microA)
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = try await ManagerFixtures.manager()
        try await m.register("renamed", directory: dir.path)
        try await m.load("renamed")
        // How converters write: a new file renamed over the old; the mapping keeps the old inode.
        let weights = dir.appendingPathComponent("model.safetensors")
        let other = dir.appendingPathComponent("new.safetensors")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: ManagerFixtures.microB + "/model.safetensors"), to: other)
        #expect(rename(other.path, weights.path) == 0)
        #expect(await transcribes(m, "renamed"))
        try await m.unload("renamed")
    }

    /// The safe mode: weights copied into anonymous memory at load are unaffected by truncation.
    @Test func copyOnLoadIsImmuneToTruncation() async throws {
        let dir = try copy(of: ManagerFixtures.microA)
        defer { try? FileManager.default.removeItem(at: dir) }
        PageBuffer.fileLoading = .copy
        defer { PageBuffer.fileLoading = .map }
        let files = MemoryCounters.fileBytes
        let model = try ModelRegistry.load(directory: dir.path)
        defer { model.close() }
        #expect(MemoryCounters.fileBytes == files, "copy mode mapped a file")
        #expect(truncate(dir.appendingPathComponent("model.safetensors").path, 0) == 0)
        #expect(model.weightFileChange() == nil)
        let session = try Session(model: model)
        defer { session.close() }
        let result = try session.transcribe(ManagerFixtures.short, options: TranscriptionOptions(maxNewTokens: 2))
        #expect(result.tokenIDs.count <= 2)
    }

    /// With the address space limited (RLIMIT_AS), mapping a model's weights fails: the load is a
    /// typed error naming the file, nothing stays mapped, and the loaded model keeps serving.
    @Test func refusedMappingAtLoadIsTypedAndOthersKeepServing() async throws {
        let m = try await ManagerFixtures.manager()
        try await m.load("a")
        #expect(await transcribes(m, "a"))
        // A model whose weights are a 4 GB sparse file (no disk used).
        let big = FileManager.default.temporaryDirectory.appendingPathComponent("fault-big-\(UUID())")
        try FileManager.default.createDirectory(at: big, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: big) }
        for f in try FileManager.default.contentsOfDirectory(atPath: ManagerFixtures.microA) where f != "model.safetensors" {
            try FileManager.default.copyItem(atPath: ManagerFixtures.microA + "/" + f, toPath: big.appendingPathComponent(f).path)
        }
        let weights = big.appendingPathComponent("model.safetensors").path
        #expect(FileManager.default.createFile(atPath: weights, contents: nil))
        #expect(truncate(weights, 4 << 30) == 0)
        try await m.register("big", directory: big.path)
        let mapped = MemoryCounters.anonymousBytes + MemoryCounters.fileBytes

        var limit = rlimit()
        #expect(getrlimit(RLIMIT_AS_, &limit) == 0)
        let saved = limit
        guard let vm = Self.virtualSize() else { Issue.record("no VmSize"); return }
        limit.rlim_cur = rlim_t(vm + (512 << 20))
        #expect(setrlimit(RLIMIT_AS_, &limit) == 0)
        var refused: RuntimeError?
        do { try await m.load("big") } catch { refused = error }
        var restore = saved
        #expect(setrlimit(RLIMIT_AS_, &restore) == 0)

        guard case .loadFailed(_, let inner) = refused else { Issue.record("\(String(describing: refused))"); return }
        guard case .weights(.mapFailed(let path, let reason)) = inner else { Issue.record("\(inner)"); return }
        #expect(path == weights && reason.contains("memory"), "\(reason)")
        #expect(MemoryCounters.anonymousBytes + MemoryCounters.fileBytes == mapped)
        #expect(try await m.state(of: "big") == .unloaded)
        #expect(try await m.state(of: "a") == .ready)
        #expect(await transcribes(m, "a"))
        // Without the limit the same file maps and is refused for its contents instead.
        await #expect(throws: RuntimeError.self) { try await m.load("big") }
        try await m.unload("a")
    }

    static func virtualSize() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmSize:") {
            return Int(line.dropFirst(7).filter(\.isNumber)).map { $0 * 1024 }
        }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
private let RLIMIT_AS_ = Int32(RLIMIT_AS.rawValue)
#endif
