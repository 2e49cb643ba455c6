import EarshotRuntime
import Foundation

/// Renders a run of `earshot bench switch` as a Markdown table or CSV (here), JSON
/// (`SwitchReport+JSON.swift`) or an SVG chart (`SwitchReport+SVG.swift`). All sizes are MB of 1,048,576 bytes.
public enum SwitchReport {
    // MARK: - Table

    /// A fixed-width table that is also valid Markdown: per-model averages (one column per model),
    /// then an "Overall" table with one figure per line.
    public static func table(_ summary: SwitchSummary) -> String {
        typealias F = ReportFormatting
        let n = { (v: Double) in F.number(v, decimals: 1) }
        var perModel: [(String, (SwitchSummary.ModelRow) -> String)] = [
            ("Switches", { String($0.switches) }),
            ("Avg load overhead (MB)", { n($0.avgLoadOverheadMB) }),
            ("Avg unload release (MB)", { n($0.avgUnloadReleaseMB) }),
            ("Avg net growth per switch (MB)", { F.signed($0.avgNetGrowthMB, decimals: 1) }),
            ("Avg load (ms)", { n($0.avgLoadMs) }),
            ("Avg TTFT (ms)", { n($0.avgTTFTMs) }),
            ("Avg WER (%)", { $0.avgWERPercent.map(n) ?? "n/a" }),
        ]
        // Only with a speech set (steps that carry word counts / clip names): a run of one clip
        // prints the table it always did.
        if summary.models.contains(where: { $0.werPercent != nil }) {
            perModel.append(("WER over the run (%)", { $0.werPercent.map { F.number($0, decimals: 2) } ?? "n/a" }))
        }
        if summary.models.contains(where: { $0.varyingTranscripts != nil }) {
            perModel.append(("Clips with varying transcripts", { $0.varyingTranscripts.map(String.init) ?? "n/a" }))
        }
        let header = ["Metric"] + summary.models.map { F.markdownCell($0.model) }
        let rows = perModel.map { label, value in [label] + summary.models.map(value) }

        let s = summary
        let slope = { (v: Double) in F.signed(v, decimals: 3) }
        let overall: [[String]] = [
            ["Switches (warm-up)", "\(s.switches) (\(s.warmUpSwitches))"],
            ["Initial RSS (MB)", n(s.rssInitialMB)],
            ["Final RSS (MB)", n(s.rssFinalMB)],
            ["Total growth (MB)", F.signed(s.totalGrowthMB, decimals: 1)],
            ["Growth per switch (MB)", F.signed(s.growthPerSwitchMB, decimals: 3)],
            ["Growth after warm-up (MB)", F.signed(s.growthAfterWarmUpMB, decimals: 1)],
            ["RSS slope after warm-up (MB/switch)", slope(s.rssSlopeAfterWarmUpMB)],
            ["RSS anon slope after warm-up (MB/switch)", slope(s.rssAnonSlopeAfterWarmUpMB)],
            ["RSS anon start / end (MB)", "\(n(s.rssAnonInitialMB)) / \(n(s.rssAnonFinalMB))"],
            ["Peak RSS (MB)", n(s.rssPeakMB)],
            ["Open fds start / end", "\(s.openFileDescriptorsStart) / \(s.openFileDescriptorsEnd)"],
            ["malloc in use start / end (MB)", "\(n(s.mallocInUseStartMB)) / \(n(s.mallocInUseEndMB))"],
        ]
        return markdownTable(header: header, rows: rows) + "\n"
            + markdownTable(header: ["Overall", "Value"], rows: overall)
    }

    /// Columns padded to their widest cell; the first `leftAligned` columns left-aligned, the others
    /// right-aligned (the separator row says so to Markdown too).
    static func markdownTable(header: [String], rows: [[String]], leftAligned: Int = 1) -> String {
        let all = [header] + rows
        let widths = header.indices.map { c in max(3, all.map { $0[c].count }.max() ?? 0) }
        func line(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c < leftAligned ? cell + pad : pad + cell
            }
            return "| " + padded.joined(separator: " | ") + " |\n"
        }
        // Each rule spans its cell and the two padding spaces, so every line has the same width.
        let rule = widths.enumerated().map { c, w in
            c < leftAligned ? String(repeating: "-", count: w + 2) : String(repeating: "-", count: w + 1) + ":"
        }
        return line(header) + "|" + rule.joined(separator: "|") + "|\n" + rows.map(line).joined()
    }

    // MARK: - CSV

    /// The CSV header, one name per column of `csv`.
    public static let csvColumns: [String] = {
        var columns = ["iteration", "model"]
        for point in ["before_load", "after_load", "after_transcribe", "after_unload"] {
            columns += ["rss", "anon", "file", "pss"].map { "\(point)_\($0)_mb" }
        }
        return columns + ["fds_before", "fds_after", "malloc_in_use_after_unload_mb",
                          "load_ms", "ttft_ms", "transcribe_ms", "unload_ms", "wer",
                          "audio", "word_errors", "reference_words"]
    }()

    /// One row per switch under a header row (`csvColumns`). MB with 3 decimals, ms with 2, WER as
    /// a fraction with 4 (empty without a reference, as are the word counts; audio is empty with one clip). Text is quoted per RFC 4180; lines end with
    /// `lineEnding` (RFC 4180 says "\r\n"; "\n" suits diffs and most tools).
    public static func csv(_ steps: [SwitchStep], lineEnding: String = "\n") -> String {
        typealias F = ReportFormatting
        let mb = { (bytes: Int) in F.number(Double(bytes) / SwitchSummary.bytesPerMB, decimals: 3) }
        let ms = { (v: Double) in F.number(v, decimals: 2) }
        var out = csvColumns.joined(separator: ",") + lineEnding
        for s in steps {
            var row = [String(s.iteration), F.csvField(s.model)]
            for r in [s.beforeLoad, s.afterLoad, s.afterTranscribe, s.afterUnload] {
                row += [mb(r.rssBytes), mb(r.rssAnonBytes), mb(r.rssFileBytes), mb(r.pssBytes)]
            }
            row += [String(s.beforeLoad.openFileDescriptors), String(s.afterUnload.openFileDescriptors),
                    mb(s.afterUnload.mallocInUseBytes),
                    ms(s.loadMs), ms(s.ttftMs), ms(s.transcribeMs), ms(s.unloadMs),
                    s.wer.map { F.number($0, decimals: 4) } ?? "",
                    F.csvField(s.audio ?? ""), s.wordErrors.map { String($0.errors) } ?? "",
                    s.wordErrors.map { String($0.referenceWords) } ?? ""]
            out += row.joined(separator: ",") + lineEnding
        }
        return out
    }
}
