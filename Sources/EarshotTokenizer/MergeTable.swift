/// The BPE merge rules as a lookup from a pair of token ids to (rank, merged id).
///
/// This is the innermost lookup of encoding, done for every adjacent pair of every
/// uncached word, so it is an open-addressing hash table with linear probing and a
/// multiplicative hash instead of a `Dictionary`, whose SipHash dominates otherwise.
/// Keys pack the two ids into one `UInt64`; values pack the rank and the merged id.
struct MergeTable: Sendable {
    private let keys: [UInt64]
    private let values: [UInt64]
    private let mask: Int
    private let shift: UInt64

    /// A key no real pair can have: ids are below 2^31, so this pair cannot occur.
    private static let emptyKey = UInt64.max

    /// Number of rules stored.
    let count: Int

    /// Builds the table. `rules` are `(left, right, merged)` ids in rank order; when the same
    /// pair appears twice the first (lowest) rank is kept, as the reference implementation does.
    init(rules: [(left: Int32, right: Int32, merged: Int32)]) {
        var capacity = 16
        while capacity < rules.count * 2 { capacity <<= 1 }
        var keys = [UInt64](repeating: Self.emptyKey, count: capacity)
        var values = [UInt64](repeating: 0, count: capacity)
        let mask = capacity - 1
        let shift = UInt64(64 - capacity.trailingZeroBitCount)
        var stored = 0
        for (rank, rule) in rules.enumerated() {
            let key = Self.pack(rule.left, rule.right)
            var slot = Self.slot(for: key, shift: shift)
            while keys[slot] != Self.emptyKey && keys[slot] != key { slot = (slot + 1) & mask }
            if keys[slot] == key { continue }  // duplicate pair: keep the lower rank
            keys[slot] = key
            values[slot] = UInt64(UInt32(rank)) << 32 | UInt64(UInt32(bitPattern: rule.merged))
            stored += 1
        }
        self.keys = keys
        self.values = values
        self.mask = mask
        self.shift = shift
        self.count = stored
    }

    @inline(__always)
    private static func pack(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Fibonacci hashing: the high bits of key * 2^64/phi.
    @inline(__always)
    private static func slot(for key: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The rank and merged id for the pair `(left, right)`, or nil if they do not merge.
    /// The result packs rank in the high 32 bits and merged id in the low 32 bits, so
    /// comparing two results compares ranks.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> UInt64? {
        // Negative ids (bytes missing from the vocabulary) never merge; this also keeps
        // the pair (-1, -1) from colliding with `emptyKey`.
        guard left >= 0, right >= 0 else { return nil }
        let key = Self.pack(left, right)
        var slot = Self.slot(for: key, shift: shift)
        while true {
            let stored = keys[slot]
            if stored == key { return values[slot] }
            if stored == Self.emptyKey { return nil }
            slot = (slot + 1) & mask
        }
    }
}
