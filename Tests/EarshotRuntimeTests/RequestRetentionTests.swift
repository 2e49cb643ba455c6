import EarshotAudio
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotRuntime

/// Per-request heap retention with an idle timeout configured (as a server runs): a request must
/// leave nothing behind. Regression: a per-request `Task.sleep` idle timer, cancelled by the next
/// request, kept ~800 B each until its 300 s deadline.
@Suite(.serialized, .disabled(if: Sanitizer.isActive, "measures RSS, which a sanitizer's shadow memory and quarantine distort"))
struct RequestRetentionTests {
    @Test func requestsLeaveNoHeapBehind() async throws {
        let fast = TranscriptionOptions(maxNewTokens: 4, loopGuardRepeats: 0)
        let m = try await ManagerFixtures.manager(.init(idleTimeout: .seconds(300)))
        func inUse() -> Int { _ = MemoryReport.trimMalloc(); return MemoryReport.current().mallocInUseBytes }
        for _ in 0..<400 { _ = try await m.transcribe(ManagerFixtures.short, model: "a", options: fast) }
        let before = inUse()
        let n = 500
        for _ in 0..<n { _ = try await m.transcribe(ManagerFixtures.short, model: "a", options: fast) }
        let perRequest = Double(inUse() - before) / Double(n)
        #expect(perRequest < 300, "\(perRequest) B of heap retained per request")
        await m.unloadAll()
    }
}
