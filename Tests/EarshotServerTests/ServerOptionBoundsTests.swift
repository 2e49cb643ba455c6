import EarshotRuntime
import EarshotServer
import EarshotTestSupport
import Foundation
import Testing

/// Every number `earshot serve` takes, from the file, the environment or a flag, is checked against
/// the shared bounds (`OptionBounds`) before the server starts: the error names the setting and the
/// allowed range. Before, `max_tokens` 9223372036854775807 passed and trapped on the first request.
struct ServerOptionBoundsTests {
    /// A configuration that validates, to spoil one setting at a time.
    func valid() -> ServerConfiguration {
        var c = ServerConfiguration()
        c.models = [.init(name: "tiny", path: Fixtures.qwenTinyModel.path)]
        return c
    }

    func refusal(_ change: (inout ServerConfiguration) -> Void) -> String? {
        var c = valid()
        change(&c)
        do { try c.validate() } catch { return error.description }
        return nil
    }

    @Test func theValidConfigurationPasses() throws {
        try valid().validate()
    }

    @Test(arguments: [0, -1, 1_000_000_000_000, Int.max, Int.min])
    func maxTokensOutOfRangeIsRefusedWithTheRange(_ tokens: Int) {
        #expect(refusal { $0.maxTokens = tokens } == "invalid max_tokens: \(tokens) (allowed: 1...1000000 tokens)")
    }

    @Test(arguments: [0, -3, 257, 100_000, Int.max])
    func threadsOutOfRangeAreRefused(_ threads: Int) {
        #expect(refusal { $0.threads = threads } == "invalid threads: \(threads) (allowed: 1...256 threads)")
    }

    @Test func everyOtherNumberIsBounded() {
        #expect(refusal { $0.port = 65_536 } == "invalid port: 65536 (allowed: 0...65535)")
        #expect(refusal { $0.port = -1 } != nil)
        #expect(refusal { $0.budgetMB = 0 } != nil)
        #expect(refusal { $0.budgetMB = Int.max } != nil)     // << 20 would wrap
        #expect(refusal { $0.ttlSeconds = -1 } != nil)
        #expect(refusal { $0.ttlSeconds = Int.max } != nil)
        #expect(refusal { $0.maxConcurrency = 0 } != nil)
        #expect(refusal { $0.maxConcurrency = 65 } != nil)
        #expect(refusal { $0.queueLimit = -1 } != nil)
        #expect(refusal { $0.queueLimit = Int.max } != nil)
        #expect(refusal { $0.maxUploadMB = 0 } != nil)
        #expect(refusal { $0.maxUploadMB = Int.max } == "invalid max_upload_mb: \(Int.max) (allowed: 1...16384 MB)")
        for t in [0.0, -1, .nan, .infinity, 1e300] {
            #expect(refusal { $0.timeoutSeconds = t } != nil, "timeout \(t)")
        }
        // The ends are accepted.
        #expect(refusal { $0.maxTokens = 1_000_000; $0.threads = 256; $0.port = 0; $0.queueLimit = 0; $0.ttlSeconds = 0 } == nil)
    }

    @Test func environmentValuesGoThroughTheSameBounds() throws {
        var c = valid()
        try c.apply(environment: ["EARSHOT_MAX_TOKENS": "9223372036854775807", "EARSHOT_THREADS": "100000"])
        #expect(throws: ServerConfigurationError.invalidValue("max_tokens", "9223372036854775807 (allowed: 1...1000000 tokens)")) {
            try c.validate()
        }
        // Beyond Int itself: not a number Swift can hold, refused when read.
        #expect(throws: ServerConfigurationError.invalidValue("EARSHOT_MAX_TOKENS", "9223372036854775808")) {
            try c.apply(environment: ["EARSHOT_MAX_TOKENS": "9223372036854775808"])
        }
    }

    @Test func aFileWithHugeNumbersIsRefusedNotTrapped() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-bounds-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"models": ["tiny=\#(Fixtures.qwenTinyModel.path)"], "max_tokens": 9223372036854775807, "threads": 0}"#.utf8)
            .write(to: file)
        let c = try ServerConfiguration.load(file: file.path)
        #expect(throws: ServerConfigurationError.self) { try c.validate() }
        try Data(#"{"max_tokens": 1e30}"#.utf8).write(to: file)
        #expect(throws: ServerConfigurationError.self) { try ServerConfiguration.load(file: file.path) }
    }
}
