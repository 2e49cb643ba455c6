import EarshotAudio
import EarshotBench
import EarshotModels
import EarshotTestSupport
import Foundation
import Synchronization
@testable import EarshotRuntime

/// Models and audio for the lifecycle tests: micro checkpoints (load in milliseconds) written
/// once per test process, and the tiny parity checkpoint where a slower load or decode is wanted.
enum ManagerFixtures {
    static let root: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-manager-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// A micro checkpoint named `name` (seed varies so models differ).
    static func micro(_ name: String, seed: UInt64) -> String {
        let dir = root.appendingPathComponent(name).path
        if !FileManager.default.fileExists(atPath: dir + "/model.safetensors") {
            try! RandomCheckpoint.write(shape: .micro, to: dir, tokenizerFrom: nil, seed: seed)
        }
        return dir
    }

    static let microA = micro("micro-a", seed: 1)
    static let microB = micro("micro-b", seed: 2)
    static let microC = micro("micro-c", seed: 3)
    static var tiny: String { Fixtures.qwenTinyModel.path }

    /// 0.3 s of the fixture's speech.
    static let short: AudioSamples = try! AudioDecoder.load(path: Fixtures.qwenTinyAudio("short").path)
    static let fox: AudioSamples = try! AudioDecoder.load(path: Fixtures.qwenTinyAudio("fox").path)

    static func manager(_ configuration: ModelManagerConfiguration = .init()) async throws -> ModelManager {
        let m = ModelManager(configuration: configuration)
        try await m.register("a", directory: microA)
        try await m.register("b", directory: microB)
        try await m.register("c", directory: microC)
        try await m.register("tiny", directory: tiny)
        return m
    }

    /// Polls `condition` (up to `seconds`) — for states reached by background tasks.
    static func eventually(seconds: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
        try await Poll.until(seconds: seconds, condition)
    }

    static func estimate(_ dir: String) -> Int {
        (try! Qwen3ASRModel.estimate(directory: dir)).total(sessions: 1)
    }
}

/// Holds the first caller of `pass()` (an inference thread, never the cooperative pool) until
/// `open()`; later callers go straight through.
final class FirstCallGate: Sendable {
    private let released = DispatchSemaphore(value: 0)
    private let first = Mutex(true)

    func pass() {
        let isFirst = first.withLock { value in
            defer { value = false }
            return value
        }
        if isFirst { released.wait() }
    }

    func open() { released.signal() }
}
