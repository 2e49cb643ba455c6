import EarshotRuntime
import Foundation

/// Renders a run of `earshot bench speed` as a Markdown table or as JSON (`SpeedSummary`'s keys).
public enum SpeedReport {
    /// Two tables, both valid Markdown: min / median / max per stage, then one figure per line for
    /// the run, the machine and the fractions of its limits.
    public static func table(_ s: SpeedSummary) -> String {
        typealias F = ReportFormatting
        let ms = { (v: Double) in F.number(v, decimals: 1) }
        let stages: [[String]] = [
            ["Encoder (ms)", ms(s.encoderMs.min), ms(s.encoderMs.median), ""],
            ["Prefill (ms)", ms(s.prefillMs.min), ms(s.prefillMs.median), ""],
            ["Time to first token (ms)", ms(s.ttftMs.min), ms(s.ttftMs.median), ""],
            ["Decode (tokens/s)", F.number(s.decodeTokensPerSecond.min, decimals: 2),
             F.number(s.decodeTokensPerSecond.median, decimals: 2), F.number(s.decodeTokensPerSecond.max, decimals: 2)],
            ["Real-time factor", F.number(s.realTimeFactor.min, decimals: 3), F.number(s.realTimeFactor.median, decimals: 3), ""],
        ]
        let percent = { (v: Double) in F.number(100 * v, decimals: 1) }
        let run: [[String]] = [
            ["Model", F.markdownCell(s.model)],
            ["Precision / threads / timed runs", "\(F.markdownCell(s.precision)) / \(s.threads) / \(s.runs)"],
            ["Audio (s) / audio tokens", "\(F.number(s.audioSeconds, decimals: 2)) / \(s.audioTokens)"],
            ["Prompt / generated tokens", "\(s.promptTokens) / \(s.generatedTokens)"],
            ["Load (ms)", ms(s.loadMs)],
            ["Peak RSS (MB)", F.number(Double(s.peakRSSBytes) / SwitchSummary.bytesPerMB, decimals: 1)],
            ["Weight bytes per token (MB)", F.number(Double(s.weightBytesPerToken) / SwitchSummary.bytesPerMB, decimals: 1)],
            ["Read bandwidth (GB/s)", F.number(s.machine.readBandwidthGBPerS, decimals: 2)],
            ["sgemm (GFLOPS)", F.number(s.machine.sgemmGFLOPS, decimals: 1)],
            ["Decode bandwidth bound (tokens/s)", F.number(s.decodeBandwidthBoundTokensPerSecond, decimals: 2)],
            ["Decode, % of bandwidth bound", percent(s.decodeFractionOfBandwidthBound)],
            ["Prefill, % of sgemm peak", percent(s.prefillFractionOfSgemmPeak)],
        ]
        return SwitchReport.markdownTable(header: ["Stage", "min", "median", "max"], rows: stages) + "\n"
            + SwitchReport.markdownTable(header: ["Run", "Value"], rows: run)
    }

    /// The summary as pretty-printed JSON with sorted keys.
    public static func json(_ s: SpeedSummary) throws(EncodingError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(s)
        } catch let error as EncodingError {
            throw error
        } catch {
            throw EncodingError.invalidValue(s, .init(codingPath: [], debugDescription: "\(error)"))
        }
    }
}
