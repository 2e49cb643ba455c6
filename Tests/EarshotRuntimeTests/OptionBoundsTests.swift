import EarshotAudio
import EarshotModels
import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotRuntime

/// Numeric options from outside: one set of bounds, typed errors naming the option and its range,
/// and a runtime that cannot be made to trap or overflow whatever a caller puts in the options.
@Suite(.serialized) struct OptionBoundsTests {
    static let model: Qwen3ASRModel = try! Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path)

    func message(_ body: () throws(RuntimeError) -> Void) -> String? {
        do { try body() } catch { if case .invalidOption = error { return error.description } }
        return nil
    }

    @Test func outOfRangeValuesAreTypedErrorsNamingTheOptionAndRange() {
        for bad in [0, -1, 1_000_001, 1_000_000_000_000, Int.max, Int.min] {
            let text = message { () throws(RuntimeError) in try OptionBounds.maxTokens.check(bad, option: "--max-tokens") }
            #expect(text == "--max-tokens must be in 1...1000000 tokens, got \(bad)")
        }
        for bad in [0, 257, 100_000, Int.max] {
            let text = message { () throws(RuntimeError) in try OptionBounds.threads.check(bad, option: "threads") }
            #expect(text == "threads must be in 1...256 threads, got \(bad)")
        }
        for bad in [0.0, -1, .nan, .infinity, 1e300, 604_801] {
            #expect(message { () throws(RuntimeError) in try OptionBounds.timeoutSeconds.check(bad, option: "timeout") } != nil)
        }
        #expect(message { () throws(RuntimeError) in try OptionBounds.port.check(65_536, option: "port") }
                == "port must be in 0...65535, got 65536")
        // The ends themselves are allowed.
        #expect((try? OptionBounds.maxTokens.check(1_000_000, option: "x")) == 1_000_000)
        #expect((try? OptionBounds.threads.check(256, option: "x")) == 256)
        #expect((try? OptionBounds.port.check(0, option: "x")) == 0)
        // Whatever fits the bounds cannot overflow what is computed from it.
        #expect(OptionBounds.maxUploadMB.range.upperBound << 20 > 0)
        #expect(OptionBounds.budgetMB.range.upperBound.multipliedReportingOverflow(by: 1 << 20).overflow == false)
    }

    @Test func theKernelsNeverRunMoreThanTheMaximumThreads() {
        let before = Kernels.threadCount
        defer { Kernels.setThreadCount(before) }
        Kernels.setThreadCount(100_000)
        #expect(Kernels.threadCount == Kernels.maxThreads)
        Kernels.setThreadCount(0)
        #expect(Kernels.threadCount == 1)
        #expect(OptionBounds.threads.range.upperBound == Kernels.maxThreads)
    }

    @Test(arguments: [0, -5, 1_000_000_000_000, Int.max, Int.min])
    func theSessionRefusesOutOfRangeTokenCounts(_ tokens: Int) throws {
        let t = try Session(model: Self.model)
        defer { t.close() }
        let audio = try AudioSamples([Float](repeating: 0.1, count: 16_000), sampleRate: 16_000)
        #expect(message { () throws(RuntimeError) in
            _ = try t.transcribe(audio, options: .init(maxNewTokens: tokens))
        } == "max_tokens must be in 1...1000000 tokens, got \(tokens)")
        #expect(message { () throws(RuntimeError) in
            _ = try t.transcribe(audio, options: .init(maxNewTokens: 2, loopGuardRepeats: Int.max))
        } != nil)
        // And the session still works.
        #expect(try t.transcribe(audio, options: .init(maxNewTokens: 2)).tokenIDs.count <= 2)
    }

    /// Below the session's check, the family sessions clamp on their own: `prompt.count + maxNewTokens`
    /// with Int.max used to trap. A negative count decodes nothing; Int.max is cut to the bound and
    /// the state to the model's positions (stopped here by a cancel, since random weights may not end).
    @Test func theQwenSessionClampsTokenCountsItself() throws {
        let flag = CancelFlag()
        let session = try Qwen3ASRSession(model: Self.model, cancel: flag)
        defer { session.close() }
        let audio = try AudioSamples([Float](repeating: 0.1, count: 16_000), sampleRate: 16_000)
        let none = try session.transcribe(audio, options: .init(maxNewTokens: Int.min, timestamps: false, decoding: .greedy), onText: nil)
        #expect(none.tokenIDs.isEmpty)
        let canceller = Thread { Thread.sleep(forTimeInterval: 0.3); flag.set(true) }
        canceller.start()
        do {
            let r = try session.transcribe(audio, options: .init(maxNewTokens: Int.max, loopGuardRepeats: 0), onText: nil)
            #expect(r.tokenIDs.count <= OptionBounds.maxTokens.range.upperBound)
        } catch {
            // Cancelled, or stopped by the model's own position limit: a typed error, not a trap.
            if case .cancelled = error {} else { #expect("\(error)".contains("position"), "\(error)") }
        }
        while !canceller.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        flag.set(false)
        #expect(session.mappedBytes > 0)
    }

    @Test func theLoopGuardTakesAnyRepeatCount() {
        let ids = [Int](repeating: 7, count: 64)
        #expect(LoopGuard(repeats: Int.max).shouldStop(after: ids) == false)
        #expect(LoopGuard(repeats: 4).shouldStop(after: ids) == true)
        #expect(LoopGuard(repeats: Int.min).shouldStop(after: ids) == false)
    }

    @Test func theWhisperSessionClampsTokenCountsItself() throws {
        let m = try WhisperModel(directory: WhisperSynthetic.ct2(.float32))
        defer { m.close() }
        let session = try WhisperSession(model: m, cancel: CancelFlag())
        defer { session.close() }
        let audio = try AudioSamples(Array(WhisperSynthetic.h01.array.prefix(32_000)), sampleRate: 16_000)
        #expect(try session.transcribe(audio, options: .init(maxNewTokens: Int.min, timestamps: false, decoding: .greedy), onText: nil).tokenIDs.isEmpty)
        let r = try session.transcribe(audio, options: .init(maxNewTokens: Int.max, timestamps: false, decoding: .greedy), onText: nil)
        #expect(r.tokenIDs.count <= m.dims.textContext / 2)   // one 30 s window
    }
}
