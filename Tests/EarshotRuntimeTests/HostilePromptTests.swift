import EarshotAudio
import EarshotModels
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotRuntime

/// The prompt row of the hostile-input table: a 1 MB context is a typed error naming the token
/// count and the context size, and the session keeps working afterwards.
@Suite struct HostilePromptTests {
    @Test func aOneMegabyteContextIsATypedErrorAndTheSessionStillWorks() throws {
        let model = try Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path)
        let session = try Session(model: model)
        defer { session.close() }
        let audio = try AudioDecoder.load(path: Fixtures.qwenTinyAudio("short").path)
        let huge = String(repeating: "Zyxel Quokka ", count: 1 << 20 / 13)
        do {
            _ = try session.transcribe(audio, options: .init(context: huge, maxNewTokens: 4))
            Issue.record("a 1 MB context was accepted")
        } catch {
            guard case .model(.promptTooLong(let tokens, let limit)) = error else { Issue.record("got \(error)"); return }
            #expect(tokens > limit)
        }
        let after = try session.transcribe(audio, options: .init(maxNewTokens: 4))
        #expect(after.tokenIDs.count <= 4)
    }
}
