import Foundation
import Testing
import EarshotTensor
@testable import EarshotAudio

/// Timing of the front end on 20 minutes of audio. Opt-in (set EARSHOT_PERF=1) and meant for
/// release builds: `EARSHOT_PERF=1 swift test -c release -Xswiftc -enable-testing --filter PerformanceTests`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["EARSHOT_PERF"] != nil))
struct PerformanceTests {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// A deterministic speech-like signal (a few tones plus noise) in a page buffer.
    static func signal(count: Int, rate: Int) throws -> AudioSamples {
        let buffer = try makeFloatBuffer(count: count)
        let p = buffer.floats()
        var state: UInt32 = 12345
        for i in 0..<count {
            state = state &* 1_664_525 &+ 1_013_904_223
            let noise = Float(Int32(bitPattern: state)) / 2_147_483_648 * 0.05
            let t = Float(i) / Float(rate)
            p[i] = 0.3 * sin(2 * .pi * 220 * t) + 0.1 * sin(2 * .pi * 1730 * t) + noise
        }
        return AudioSamples(storage: buffer, count: count, sampleRate: rate)
    }

    @Test func twentyMinutesOfMel() throws {
        let samples = try Self.signal(count: 20 * 60 * 16_000, rate: 16_000)
        let mel = try MelSpectrogram()
        var frames = 0
        let t = try Self.seconds { frames = try mel.compute(samples).frames }
        print("mel: 20 min (\(samples.count) samples, \(frames) frames) in \(t) s")
        #expect(frames == 120_000)
    }

    @Test func twentyMinutesOfResampling() throws {
        let samples = try Self.signal(count: 20 * 60 * 44_100, rate: 44_100)
        var count = 0
        let t = try Self.seconds { count = try Resampler.resample(samples, to: 16_000).count }
        print("resample: 20 min 44.1 kHz -> 16 kHz (\(count) samples) in \(t) s")
        #expect(count == 19_200_000)
    }
}
