/// Least-squares trend of a series, for memory-growth checks and benchmark reports.
public enum Trend {
    /// Slope of the least-squares line through `(i, values[i])`: growth per step. 0 for fewer than 2 points.
    public static func slope(_ values: [Double]) -> Double {
        let n = Double(values.count)
        guard values.count >= 2 else { return 0 }
        let meanX = (n - 1) / 2
        let meanY = values.reduce(0, +) / n
        var num = 0.0, den = 0.0
        for (i, y) in values.enumerated() {
            let dx = Double(i) - meanX
            num += dx * (y - meanY)
            den += dx * dx
        }
        return num / den
    }

    /// Slope over the values after the first `warmUpFraction` of them (the warm-up is excluded
    /// because first uses fill caches and pools once).
    public static func slopeAfterWarmUp(_ values: [Double], warmUpFraction: Double = 0.2) -> Double {
        let skip = Int((Double(values.count) * warmUpFraction).rounded(.down))
        return slope(Array(values.dropFirst(skip)))
    }
}
