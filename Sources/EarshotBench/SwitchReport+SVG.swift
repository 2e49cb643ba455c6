import EarshotRuntime
import Foundation

extension SwitchReport {
    /// A self-contained 900x420 SVG line chart of memory across the switches.
    ///
    /// x is the switch index; each switch contributes its four snapshots at i, i+0.25, i+0.5 and
    /// i+0.75 (before load, after load, after transcribe, after unload), so the load/unload
    /// sawtooth shows. Two lines: RSS and anonymous RSS, in MB. Green markers are "after load"
    /// points, red ones "after unload" (drawn for at most ~60 switches, evenly spaced). Past 150
    /// switches the sawtooth is faded and the after-unload levels drawn over it, so long runs stay
    /// legible. The warm-up switches are shaded and a dashed line is the least-squares fit
    /// of anonymous RSS after unload past warm-up, whose slope the subtitle gives.
    public static func svg(_ steps: [SwitchStep], title: String, warmUpFraction: Double = 0.2) -> String {
        SwitchChart(steps: steps, title: title, summary: SwitchSummary(steps: steps, warmUpFraction: warmUpFraction))
            .render()
    }
}

/// The geometry and drawing of `SwitchReport.svg`.
private struct SwitchChart {
    let steps: [SwitchStep]
    let title: String
    let summary: SwitchSummary

    static let width = 900.0, height = 420.0
    // Plot area; the band above holds the title and subtitle, the band below the x axis and legend.
    static let left = 72.0, right = 876.0, top = 66.0, bottom = 334.0
    static let rssColor = "#1f77b4", anonColor = "#ff7f0e", loadColor = "#2ca02c", unloadColor = "#d62728"
    static let trendColor = "#8c3b00"
    /// Position of the four snapshots within a switch.
    static let offsets = [0.0, 0.25, 0.5, 0.75]
    /// Above this many switches the full sawtooth is faded and the after-unload levels drawn on top.
    static let denseSwitches = 150

    typealias F = ReportFormatting

    // MARK: Scales

    /// x domain [0, switches]: one unit per switch.
    var xMax: Double { Double(max(steps.count, 1)) }

    func x(_ value: Double) -> Double { Self.left + value / xMax * (Self.right - Self.left) }

    /// y domain: the data's range widened to whole multiples of a nice tick step.
    var yAxis: (low: Double, high: Double, step: Double) {
        let values = steps.flatMap { s in snapshots(s).flatMap { [mb($0.rssBytes), mb($0.rssAnonBytes)] } }
        var low = values.min() ?? 0, high = values.max() ?? 1
        if high - low < 1e-9 { low -= 1; high += 1 }  // a flat series still gets an axis
        let step = F.niceStep((high - low) / 5)
        return ((low / step).rounded(.down) * step, (high / step).rounded(.up) * step, step)
    }

    func y(_ value: Double, _ axis: (low: Double, high: Double, step: Double)) -> Double {
        Self.bottom - (value - axis.low) / (axis.high - axis.low) * (Self.bottom - Self.top)
    }

    func mb(_ bytes: Int) -> Double { Double(bytes) / SwitchSummary.bytesPerMB }

    func snapshots(_ s: SwitchStep) -> [MemoryReport] { [s.beforeLoad, s.afterLoad, s.afterTranscribe, s.afterUnload] }

    static func coord(_ v: Double) -> String { F.number(v, decimals: 1) }

    // MARK: Drawing

    func render() -> String {
        let axis = yAxis
        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(Self.height))" \
        viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" \
        font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="11">
        <title>\(F.xml(title))</title>
        <rect width="100%" height="100%" fill="#ffffff"/>
        <text x="\(Self.left)" y="26" font-size="16" font-weight="bold" fill="#222">\(F.xml(title))</text>
        <text x="\(Self.left)" y="46" font-size="12" fill="#555">\(F.xml(subtitle))</text>

        """
        out += warmUpBand()
        out += yGrid(axis) + xTicks()
        out += "<rect x=\"\(Self.left)\" y=\"\(Self.top)\" width=\"\(Self.right - Self.left)\" "
            + "height=\"\(Self.bottom - Self.top)\" fill=\"none\" stroke=\"#999\"/>\n"
        if steps.isEmpty {
            out += "<text x=\"\((Self.left + Self.right) / 2)\" y=\"\((Self.top + Self.bottom) / 2)\" "
                + "text-anchor=\"middle\" font-size=\"14\" fill=\"#888\">no switches recorded</text>\n"
        } else {
            // Past ~150 switches the sawtooth fills into a band: fade it and draw the after-unload
            // level (where a leak shows) on top as a solid line of the same colour.
            let dense = steps.count > Self.denseSwitches
            let opacity = dense ? 0.35 : 1
            out += line(id: "rss", color: Self.rssColor, width: dense ? 1 : 1.5, opacity: opacity, axis) { $0.rssBytes }
            out += line(id: "rss-anon", color: Self.anonColor, width: dense ? 1 : 1.5, opacity: opacity, axis) { $0.rssAnonBytes }
            if dense {
                out += unloadLine(id: "rss-after-unload", color: Self.rssColor, axis) { $0.rssBytes }
                out += unloadLine(id: "rss-anon-after-unload", color: Self.anonColor, axis) { $0.rssAnonBytes }
            }
            out += trendLine(axis)
            out += markers(axis)
        }
        out += legend()
        return out + "</svg>\n"
    }

    var subtitle: String {
        let s = summary
        let slope = s.switchesAfterWarmUp >= 2
            ? "\(F.signed(s.rssAnonSlopeAfterWarmUpMB, decimals: 3)) MB/switch"
            : "n/a (under 2 switches after warm-up)"
        return "RSS anon slope after warm-up: \(slope)"
            + " · total RSS growth: \(F.signed(s.totalGrowthMB, decimals: 1)) MB"
            + " (\(F.number(s.rssInitialMB, decimals: 1)) → \(F.number(s.rssFinalMB, decimals: 1)))"
            + " · \(s.switches) switch\(s.switches == 1 ? "" : "es") (\(s.warmUpSwitches) warm-up)"
    }

    func warmUpBand() -> String {
        guard summary.warmUpSwitches > 0 else { return "" }
        let x1 = x(Double(summary.warmUpSwitches))
        var out = "<rect x=\"\(Self.left)\" y=\"\(Self.top)\" width=\"\(Self.coord(x1 - Self.left))\" "
            + "height=\"\(Self.bottom - Self.top)\" fill=\"#f0f0f0\"/>\n"
        if x1 - Self.left > 50 {
            out += "<text x=\"\(Self.left + 4)\" y=\"\(Self.top + 13)\" fill=\"#888\">warm-up</text>\n"
        }
        return out
    }

    func yGrid(_ axis: (low: Double, high: Double, step: Double)) -> String {
        // Enough decimals to tell ticks apart when the step is below 1 MB.
        let decimals = axis.step >= 1 ? 0 : Int((-log10(axis.step)).rounded(.up))
        let count = Int(((axis.high - axis.low) / axis.step).rounded())
        var out = ""
        for k in 0...count {
            let value = axis.low + Double(k) * axis.step
            let py = Self.coord(y(value, axis))
            out += "<line x1=\"\(Self.left)\" y1=\"\(py)\" x2=\"\(Self.right)\" y2=\"\(py)\" stroke=\"#e4e4e4\"/>\n"
            out += "<text x=\"\(Self.left - 6)\" y=\"\(py)\" dy=\"4\" text-anchor=\"end\" fill=\"#444\">"
                + "\(F.number(value, decimals: decimals))</text>\n"
        }
        let mid = Self.coord((Self.top + Self.bottom) / 2)
        return out + "<text x=\"18\" y=\"\(mid)\" transform=\"rotate(-90 18 \(mid))\" text-anchor=\"middle\" "
            + "font-size=\"12\" fill=\"#222\">memory (MB of 1,048,576 bytes)</text>\n"
    }

    func xTicks() -> String {
        let step = max(1, F.niceStep(xMax / 10))
        var out = ""
        var value = 0.0
        while value <= xMax + 1e-9 {
            let px = Self.coord(x(value))
            out += "<line x1=\"\(px)\" y1=\"\(Self.bottom)\" x2=\"\(px)\" y2=\"\(Self.bottom + 4)\" stroke=\"#999\"/>\n"
            out += "<text x=\"\(px)\" y=\"\(Self.bottom + 17)\" text-anchor=\"middle\" fill=\"#444\">\(Int(value))</text>\n"
            value += step
        }
        return out + "<text x=\"\((Self.left + Self.right) / 2)\" y=\"\(Self.bottom + 36)\" text-anchor=\"middle\" "
            + "font-size=\"12\" fill=\"#222\">switch (each: before load, after load, after transcribe, after unload)</text>\n"
    }

    func line(id: String, color: String, width: Double, opacity: Double,
              _ axis: (low: Double, high: Double, step: Double), _ bytes: (MemoryReport) -> Int) -> String {
        var points: [String] = []
        points.reserveCapacity(steps.count * 4)
        for (i, s) in steps.enumerated() {
            for (k, r) in snapshots(s).enumerated() {
                points.append(Self.coord(x(Double(i) + Self.offsets[k])) + "," + Self.coord(y(mb(bytes(r)), axis)))
            }
        }
        return "<polyline id=\"\(id)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(width)\" "
            + "stroke-opacity=\"\(opacity)\" stroke-linejoin=\"round\" points=\"\(points.joined(separator: " "))\"/>\n"
    }

    /// One point per switch: the level after unload.
    func unloadLine(id: String, color: String, _ axis: (low: Double, high: Double, step: Double),
                    _ bytes: (MemoryReport) -> Int) -> String {
        let points = steps.enumerated().map { i, s in
            Self.coord(x(Double(i) + 0.75)) + "," + Self.coord(y(mb(bytes(s.afterUnload)), axis))
        }
        return "<polyline id=\"\(id)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" "
            + "stroke-linejoin=\"round\" points=\"\(points.joined(separator: " "))\"/>\n"
    }

    /// The least-squares line through anonymous RSS after unload over the post-warm-up switches,
    /// drawn at the "after unload" x positions it was fitted on.
    func trendLine(_ axis: (low: Double, high: Double, step: Double)) -> String {
        let first = summary.warmUpSwitches
        let values = steps[first...].map { mb($0.afterUnload.rssAnonBytes) }
        guard values.count >= 2 else { return "" }
        let mean = values.reduce(0, +) / Double(values.count)
        let middle = Double(values.count - 1) / 2
        let slope = summary.rssAnonSlopeAfterWarmUpMB
        let x1 = x(Double(first) + 0.75), x2 = x(Double(steps.count - 1) + 0.75)
        let y1 = y(mean - slope * middle, axis), y2 = y(mean + slope * middle, axis)
        return "<line id=\"anon-trend\" x1=\"\(Self.coord(x1))\" y1=\"\(Self.coord(y1))\" x2=\"\(Self.coord(x2))\" "
            + "y2=\"\(Self.coord(y2))\" stroke=\"\(Self.trendColor)\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n"
    }

    /// Green "after load" and red "after unload" dots on both lines, for every k-th switch.
    func markers(_ axis: (low: Double, high: Double, step: Double)) -> String {
        let every = max(1, Int((Double(steps.count) / 60).rounded(.up)))
        var load = "", unload = ""
        for i in stride(from: 0, to: steps.count, by: every) {
            let s = steps[i]
            for bytes in [s.afterLoad.rssBytes, s.afterLoad.rssAnonBytes] {
                load += dot(Double(i) + 0.25, mb(bytes), axis)
            }
            for bytes in [s.afterUnload.rssBytes, s.afterUnload.rssAnonBytes] {
                unload += dot(Double(i) + 0.75, mb(bytes), axis)
            }
        }
        return "<g id=\"load-markers\" fill=\"\(Self.loadColor)\">\n\(load)</g>\n"
            + "<g id=\"unload-markers\" fill=\"\(Self.unloadColor)\">\n\(unload)</g>\n"
    }

    func dot(_ xValue: Double, _ yValue: Double, _ axis: (low: Double, high: Double, step: Double)) -> String {
        "<circle cx=\"\(Self.coord(x(xValue)))\" cy=\"\(Self.coord(y(yValue, axis)))\" r=\"2.5\"/>\n"
    }

    func legend() -> String {
        enum Swatch { case line(String, dashed: Bool), dot(String) }
        let trend: [(Swatch, String)] = summary.switchesAfterWarmUp >= 2
            ? [(.line(Self.trendColor, dashed: true), "anon trend after warm-up")] : []
        let items: [(Swatch, String)] = [
            (.line(Self.rssColor, dashed: false), "RSS"),
            (.line(Self.anonColor, dashed: false), "anonymous RSS"),
        ] + trend + [
            (.dot(Self.loadColor), "after load"),
            (.dot(Self.unloadColor), "after unload"),
        ]
        let baseline = Self.height - 18
        var px = Self.left
        var out = "<g id=\"legend\">\n"
        for (swatch, label) in items {
            switch swatch {
            case let .line(color, dashed):
                out += "<line x1=\"\(px)\" y1=\"\(baseline - 4)\" x2=\"\(px + 22)\" y2=\"\(baseline - 4)\" "
                    + "stroke=\"\(color)\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            case let .dot(color):
                out += "<circle cx=\"\(px + 11)\" cy=\"\(baseline - 4)\" r=\"3.5\" fill=\"\(color)\"/>\n"
            }
            out += "<text x=\"\(px + 28)\" y=\"\(baseline)\" fill=\"#222\">\(F.xml(label))</text>\n"
            px += 28 + Double(label.count) * 6.2 + 22  // ~6.2 px per character at 11 px
        }
        return out + "</g>\n"
    }
}
