/// The official `fix_timestamp`: keep one longest non-decreasing subsequence of the predicted
/// milliseconds and replace every maximal run of the other values from its kept neighbours.
///
/// - The subsequence: O(n^2) with `<=`; each element's predecessor is the earliest index giving its
///   length, and the chain ends at the first index that reaches the maximal length (ties matter:
///   they decide which values count as wrong).
/// - A run of 1-2 values: each takes the nearer kept neighbour's value (the left one on a tie, the
///   only one at an end). A run of 3 or more between two kept values: `left + (right - left) /
///   (n + 1) * k` in double, k = 1...n; at an end: the one neighbour's value.
/// - Every value is then truncated toward zero (`int()`), so 919.9999999999999 becomes 919.
/// n is at most a few thousand slots (two per word), so the quadratic search is bounded by the prompt.
public enum TimestampRepair {
    public static func repair(_ values: [Double]) -> [Int] {
        let n = values.count
        guard n > 0 else { return [] }
        var length = [Int](repeating: 1, count: n), previous = [Int](repeating: -1, count: n)
        for i in 1..<n {
            for j in 0..<i where values[j] <= values[i] && length[j] + 1 > length[i] {
                length[i] = length[j] + 1
                previous[i] = j
            }
        }
        var kept = [Bool](repeating: false, count: n)
        let best = length.max() ?? 1
        var i = length.firstIndex(of: best) ?? 0
        while i >= 0 {
            kept[i] = true
            i = previous[i]
        }
        var out = values
        var start = 0
        while start < n {
            guard !kept[start] else { start += 1; continue }
            var end = start
            while end < n && !kept[end] { end += 1 }
            let left: Double? = start > 0 ? values[start - 1] : nil
            let right: Double? = end < n ? values[end] : nil
            let count = end - start
            for k in start..<end {
                if count <= 2 {
                    let toLeft = k - (start - 1), toRight = end - k
                    if let left, let right { out[k] = toLeft <= toRight ? left : right } else { out[k] = left ?? right ?? values[k] }
                } else if let left, let right {
                    out[k] = left + (right - left) / Double(count + 1) * Double(k - start + 1)
                } else {
                    out[k] = left ?? right ?? values[k]
                }
            }
            start = end
        }
        return out.map { Int($0) }
    }
}
