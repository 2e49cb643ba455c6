import EarshotAudio
import EarshotModels
import EarshotRuntime
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotBench

/// `earshot bench speed`: statistics, derived fractions, the JSON keys other tools read, and one
/// end-to-end run on the tiny checkpoint (fixed decode length through `ignoreEOS`).
@Suite(.serialized) struct SpeedSummaryTests {
    /// A timed run with the given figures (prompt 100 tokens, 8 generated, 5 s of audio).
    static func result(encode: Double, prefill: Double, ttft: Double, tokensPerSecond: Double, rtf: Double) -> TranscriptionResult {
        var timings = Timings()
        timings.encodeMs = encode
        timings.prefillMs = prefill
        timings.ttftMs = ttft
        timings.tokensPerSecond = tokensPerSecond
        timings.rtf = rtf
        return TranscriptionResult(text: "", language: "", tokenIDs: Array(0..<8), audioSeconds: 5, audioTokens: 65,
                                   promptTokens: 100, timings: timings)
    }

    /// Four runs; bandwidth 10 GB/s over 1e9 bytes per token (bound 10 tok/s); prefill of
    /// 100 tokens x 5e8 parameters = 1e11 FLOPs in a median 1000 ms (100 GFLOPS) against 200 GFLOPS.
    static func summary(weightBytesPerToken: Int = 1_000_000_000) -> SpeedSummary {
        let results = [
            result(encode: 30, prefill: 900, ttft: 1300, tokensPerSecond: 5, rtf: 0.4),
            result(encode: 10, prefill: 1100, ttft: 1100, tokensPerSecond: 7, rtf: 0.2),
            result(encode: 20, prefill: 1200, ttft: 1200, tokensPerSecond: 6, rtf: 0.3),
            result(encode: 40, prefill: 800, ttft: 1000, tokensPerSecond: 8, rtf: 0.1),
        ]
        return SpeedSummary(model: "/m/0.6b", precision: "inPlace", threads: 2, results: results, loadMs: 250,
                            peakRSSBytes: 2_000_000_000, weightBytesPerToken: weightBytesPerToken,
                            parametersPerToken: 500_000_000,
                            machine: .init(readBandwidthGBPerS: 10, sgemmGFLOPS: 200))
    }

    @Test func medianOfOddEvenAndEmptyInputs() {
        #expect(SpeedSummary.median([3, 1, 2]) == 2)
        #expect(SpeedSummary.median([4, 1, 3, 2]) == 2.5)
        #expect(SpeedSummary.median([7]) == 7)
        #expect(SpeedSummary.median([]) == 0)
        #expect(SpeedSummary.MinMedianMax([2, 9, 4]) == .init(min: 2, median: 4, max: 9))
        #expect(SpeedSummary.MinMedian([]) == .init(min: 0, median: 0))
    }

    @Test func statisticsOverRuns() {
        let s = Self.summary()
        #expect(s.runs == 4)
        #expect(s.encoderMs == .init(min: 10, median: 25))
        #expect(s.prefillMs == .init(min: 800, median: 1000))
        #expect(s.ttftMs == .init(min: 1000, median: 1150))
        #expect(s.decodeTokensPerSecond == .init(min: 5, median: 6.5, max: 8))
        #expect(abs(s.realTimeFactor.min - 0.1) < 1e-12 && abs(s.realTimeFactor.median - 0.25) < 1e-12)
        #expect(s.audioSeconds == 5 && s.audioTokens == 65 && s.promptTokens == 100 && s.generatedTokens == 8)
    }

    @Test func fractionsOfTheMachineLimits() {
        let s = Self.summary()
        #expect(s.decodeBandwidthBoundTokensPerSecond == 10)
        #expect(abs(s.decodeFractionOfBandwidthBound - 0.65) < 1e-12)
        #expect(abs(s.prefillFractionOfSgemmPeak - 0.5) < 1e-12)
        #expect(SpeedSummary.gflops(operations: 3e9, ms: 1500) == 2)
        #expect(SpeedSummary.bandwidthBound(gbPerSecond: 20, bytesPerToken: 4_000_000_000) == 5)
    }

    @Test func unknownLimitsGiveZeroNotInfinity() {
        let s = Self.summary(weightBytesPerToken: 0)
        #expect(s.decodeBandwidthBoundTokensPerSecond == 0)
        #expect(s.decodeFractionOfBandwidthBound == 0)
        let empty = SpeedSummary(model: "m", precision: "inPlace", threads: 1, results: [], loadMs: 0, peakRSSBytes: 0,
                                 weightBytesPerToken: 1, parametersPerToken: 1,
                                 machine: .init(readBandwidthGBPerS: 0, sgemmGFLOPS: 0))
        #expect(empty.runs == 0 && empty.prefillFractionOfSgemmPeak == 0 && empty.decodeFractionOfBandwidthBound == 0)
        #expect(SpeedSummary.gflops(operations: 1e9, ms: 0) == 0)
    }

    @Test func jsonHasExactlyTheAgreedKeys() throws {
        let s = Self.summary()
        let data = try SpeedReport.json(s)
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(obj.keys) == [
            "model", "precision", "threads", "runs", "audio_seconds", "audio_tokens", "prompt_tokens", "generated_tokens",
            "encoder_ms", "prefill_ms", "ttft_ms", "decode_tokens_per_second", "real_time_factor", "peak_rss_bytes",
            "load_ms", "weight_bytes_per_token", "machine", "decode_bandwidth_bound_tokens_per_second",
            "decode_fraction_of_bandwidth_bound", "prefill_fraction_of_sgemm_peak",
        ])
        for key in ["encoder_ms", "prefill_ms", "ttft_ms", "real_time_factor"] {
            #expect(Set((obj[key] as? [String: Any]).map { Array($0.keys) } ?? []) == ["min", "median"], "\(key)")
        }
        let decode = try #require(obj["decode_tokens_per_second"] as? [String: Double])
        #expect(decode == ["min": 5, "median": 6.5, "max": 8])
        let machine = try #require(obj["machine"] as? [String: Double])
        #expect(machine == ["read_bandwidth_gb_per_s": 10, "sgemm_gflops": 200])
        #expect(obj["model"] as? String == "/m/0.6b" && obj["precision"] as? String == "inPlace")
        #expect(obj["threads"] as? Int == 2 && obj["runs"] as? Int == 4 && obj["peak_rss_bytes"] as? Int == 2_000_000_000)
        #expect(obj["weight_bytes_per_token"] as? Int == 1_000_000_000 && obj["load_ms"] as? Double == 250)
        #expect(obj["prefill_fraction_of_sgemm_peak"] as? Double == 0.5)
        #expect(try JSONDecoder().decode(SpeedSummary.self, from: data) == s)
    }

    @Test func tableShowsStagesAndFractions() {
        let table = SpeedReport.table(Self.summary())
        #expect(table.contains("| Decode (tokens/s)"))
        #expect(table.contains("6.50 |") && table.contains("8.00 |"))
        #expect(table.contains("| Decode, % of bandwidth bound") && table.contains("65.0 |"))
        #expect(table.contains("| Prefill, % of sgemm peak") && table.contains("50.0 |"))
        #expect(table.contains("| Read bandwidth (GB/s)") && table.contains("10.00 |"))
    }

    /// The whole benchmark on the tiny checkpoint, given an EOS id it generates early: a normal
    /// transcription stops there, while every benchmark run decodes exactly `maxTokens` tokens
    /// (EOS and the loop guard ignored), the same tokens as without that EOS.
    @Test func tinyModelRunDecodesAFixedNumberOfTokensThroughEOS() throws {
        let samples = try AudioDecoder.load(path: Fixtures.qwenTinyAudio("fox").path)
        let maxTokens = 6
        let original = try Self.transcribe(directory: Fixtures.qwenTinyModel.path, samples,
                                           options: .init(maxNewTokens: maxTokens, loopGuardRepeats: 0))
        #expect(original.tokenIDs.count == maxTokens)   // the random model never emits its real EOS

        // The same checkpoint, with the third generated token declared end-of-sequence.
        let eos = original.tokenIDs[2]
        let dir = try Self.checkpoint(eos: eos)
        defer { try? FileManager.default.removeItem(at: dir) }
        let stopped = try Self.transcribe(directory: dir.path, samples, options: .init(maxNewTokens: maxTokens, loopGuardRepeats: 0))
        #expect(stopped.tokenIDs == Array(original.tokenIDs.prefix(original.tokenIDs.firstIndex(of: eos)!)))

        let bench = SpeedBenchmark(modelDirectory: dir.path, runs: 1, maxTokens: maxTokens,
                                   probeReadBytes: 4 << 20, probeGemmSize: 64)
        #expect(try Self.transcribe(directory: dir.path, samples, options: bench.options).tokenIDs == original.tokenIDs)
        let s = try bench.run(samples: samples)
        #expect(s.runs == 1 && s.generatedTokens == maxTokens && s.precision == "native")
        #expect(s.audioTokens == original.audioTokens && s.promptTokens == original.promptTokens)
        #expect(s.prefillMs.min > 0 && s.decodeTokensPerSecond.min > 0 && s.peakRSSBytes > 0)
        #expect(s.decodeBandwidthBoundTokensPerSecond > 0 && s.prefillFractionOfSgemmPeak > 0)
        let model = try Qwen3ASRModel(directory: dir.path)
        defer { model.close() }
        #expect(s.weightBytesPerToken == model.decodeWeightBytesPerToken)
        #expect(model.decodeParametersPerToken * 2 < model.decodeWeightBytesPerToken)   // bf16, head excluded
    }

    static func transcribe(directory: String, _ samples: AudioSamples, options: TranscriptionOptions) throws -> TranscriptionResult {
        let model = try Qwen3ASRModel(directory: directory)
        defer { model.close() }
        let t = try Session(model: model)
        defer { t.close() }
        return try t.transcribe(samples, options: options)
    }

    /// A temporary copy of the tiny checkpoint (symbolic links) whose generation_config.json names `eos`.
    static func checkpoint(eos: Int) throws -> URL {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("earshot-speed-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: Fixtures.qwenTinyModel.path) where name != "generation_config.json" {
            try fm.createSymbolicLink(at: dir.appendingPathComponent(name),
                                      withDestinationURL: Fixtures.qwenTinyModel.appendingPathComponent(name))
        }
        try Data("{\"eos_token_id\": [\(eos)]}".utf8).write(to: dir.appendingPathComponent("generation_config.json"))
        return dir
    }
}
