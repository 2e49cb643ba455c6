import ArgumentParser
import EarshotBench
import EarshotRuntime
import EarshotTensor
import Foundation

extension BenchSwitch {
    /// Prints the table, writes the requested files, and fails on a memory slope above the limit.
    func report(steps: [SwitchStep], restarts: [MemoryReport], modelNames: [String], clip: String) throws {
        var metadata: [String: String] = [
            "command": CommandLine.arguments.joined(separator: " "),
            "models": models, "audio": clip, "iterations": String(iterations), "max_tokens": String(tokenLimit),
            "threads": String(Kernels.threadCount), "language": language ?? "detected", "set": set ?? "",
            "date": ISO8601DateFormatter().string(from: Date()),
        ]
        var failed = false
        if !steps.isEmpty {
            let summary = SwitchSummary(steps: steps, warmUpFraction: warmUp)
            print(SwitchReport.table(summary))
            if !summary.passes(maxSlopeMB: maxSlopeMb) {
                FileHandle.standardError.write(Data(String(
                    format: "earshot: memory grows %.4f MB/switch (RSS) and %.4f MB/switch (anonymous) after warm-up; limit %.4f\n",
                    summary.rssSlopeAfterWarmUpMB, summary.rssAnonSlopeAfterWarmUpMB, maxSlopeMb).utf8))
                failed = true
            }
            if summary.openFileDescriptorsEnd > summary.openFileDescriptorsStart {
                FileHandle.standardError.write(Data(
                    "earshot: open file descriptors grew from \(summary.openFileDescriptorsStart) to \(summary.openFileDescriptorsEnd)\n".utf8))
                failed = true
            }
            do {
                if let csv { try SwitchReport.csv(steps).write(toFile: csv, atomically: true, encoding: .utf8) }
                if let plot {
                    let title = "earshot bench switch: \(modelNames.joined(separator: " / ")), \(steps.count) switches"
                    try SwitchReport.svg(steps, title: title, warmUpFraction: warmUp).write(toFile: plot, atomically: true, encoding: .utf8)
                }
            } catch {
                throw fail("earshot: writing the report: \(error)")
            }
        }
        if let first = restarts.first, let last = restarts.last {
            let rss = restarts.map(\.rssBytes), anon = restarts.map(\.rssAnonBytes)
            let settled = restarts[Int(Double(restarts.count - 1) * warmUp)]
            let lines = [
                "Restarts (\(modelNames[0])): \(restarts.count - 1)",
                "  RSS change, first to last:           \(last.rssBytes - first.rssBytes) bytes",
                "  Anonymous RSS change, first to last: \(last.rssAnonBytes - first.rssAnonBytes) bytes",
                String(format: "  After warm-up (%.0f%%): RSS %+d bytes, anonymous RSS %+d bytes", warmUp * 100,
                       last.rssBytes - settled.rssBytes, last.rssAnonBytes - settled.rssAnonBytes),
                "  RSS range over all restarts:         \(rss.max()! - rss.min()!) bytes",
                "  Anonymous RSS range:                 \(anon.max()! - anon.min()!) bytes",
                "  Earshot-mapped bytes: \(first.mappedAnonymousBytes) -> \(last.mappedAnonymousBytes) anonymous",
            ]
            print(lines.joined(separator: "\n"))
            metadata["restarts"] = String(restarts.count - 1)
            metadata["restart_rss_change_bytes"] = String(last.rssBytes - first.rssBytes)
            metadata["restart_rss_anon_change_bytes"] = String(last.rssAnonBytes - first.rssAnonBytes)
            metadata["restart_rss_change_after_warm_up_bytes"] = String(last.rssBytes - settled.rssBytes)
            metadata["restart_rss_anon_change_after_warm_up_bytes"] = String(last.rssAnonBytes - settled.rssAnonBytes)
            metadata["restart_rss_range_bytes"] = String(rss.max()! - rss.min()!)
            metadata["restart_rss_anon_range_bytes"] = String(anon.max()! - anon.min()!)
        }
        if let json {
            do {
                try SwitchReport.json(steps, summary: SwitchSummary(steps: steps, warmUpFraction: warmUp), metadata: metadata)
                    .write(to: URL(fileURLWithPath: json))
            } catch {
                throw fail("earshot: writing \(json): \(error)")
            }
        }
        if failed { throw ExitCode.failure }
    }
}
