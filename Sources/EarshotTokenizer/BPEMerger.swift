/// Applies BPE merges to one pre-tokenized word, represented as token ids.
///
/// The rule: repeatedly merge the adjacent pair with the lowest rank; among equal ranks
/// (the same pair occurring several times) the leftmost goes first. Words work on ids, not
/// strings, so each step is a hash lookup of two integers.
struct BPEMerger: Sendable {
    let table: MergeTable

    /// Below this many symbols a quadratic rescan beats the bookkeeping of a heap. Above
    /// it the heap keeps pathological inputs (a megabyte of `=`) from taking quadratic time.
    static let heapThreshold = 48

    /// Merges `symbols` in place.
    func merge(_ symbols: inout [Int32]) {
        if symbols.count < 2 { return }
        if symbols.count < Self.heapThreshold {
            mergeByScanning(&symbols)
        } else {
            mergeWithHeap(&symbols)
        }
    }

    /// Finds the best pair by scanning the whole word on every step.
    private func mergeByScanning(_ symbols: inout [Int32]) {
        while symbols.count > 1 {
            var best = UInt64.max
            var bestIndex = -1
            for index in 0..<(symbols.count - 1) {
                // Packed as rank << 32 | merged id, so `<` compares ranks; strict `<` keeps
                // the leftmost of equal ranks.
                if let found = table.lookup(symbols[index], symbols[index + 1]), found < best {
                    best = found
                    bestIndex = index
                }
            }
            if bestIndex < 0 { return }
            symbols[bestIndex] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            symbols.remove(at: bestIndex + 1)
        }
    }

    /// The same rule with a doubly linked list and a min-heap of candidate pairs, each keyed
    /// by `rank << 32 | position`, so ties go to the leftmost position. Entries are checked
    /// when popped and skipped if their pair no longer exists (lazy deletion).
    private func mergeWithHeap(_ symbols: inout [Int32]) {
        let count = symbols.count
        var next = [Int](1...count)            // `count` means "no next"
        var previous = [Int](-1..<(count - 1))  // -1 means "no previous"
        var alive = [Bool](repeating: true, count: count)
        var heap = MinHeap()
        for index in 0..<(count - 1) {
            if let found = table.lookup(symbols[index], symbols[index + 1]) {
                heap.push(found & 0xFFFF_FFFF_0000_0000 | UInt64(index))
            }
        }
        while let top = heap.pop() {
            let position = Int(top & 0xFFFF_FFFF)
            let rank = top >> 32
            guard alive[position] else { continue }
            let right = next[position]
            guard right < count,
                  let found = table.lookup(symbols[position], symbols[right]),
                  found >> 32 == rank else { continue }
            symbols[position] = Int32(truncatingIfNeeded: found & 0xFFFF_FFFF)
            alive[right] = false
            next[position] = next[right]
            if next[right] < count { previous[next[right]] = position }
            let left = previous[position]
            if left >= 0, let pair = table.lookup(symbols[left], symbols[position]) {
                heap.push(pair & 0xFFFF_FFFF_0000_0000 | UInt64(left))
            }
            if next[position] < count, let pair = table.lookup(symbols[position], symbols[next[position]]) {
                heap.push(pair & 0xFFFF_FFFF_0000_0000 | UInt64(position))
            }
        }
        var merged: [Int32] = []
        var index = 0  // the first symbol is never absorbed by a left neighbour
        while index < count {
            merged.append(symbols[index])
            index = next[index]
        }
        symbols = merged
    }
}

/// A binary min-heap of `UInt64`.
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ value: UInt64) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent] <= items[child] { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            if left >= items.count { break }
            var smallest = left
            if left + 1 < items.count, items[left + 1] < items[left] { smallest = left + 1 }
            if items[parent] <= items[smallest] { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
