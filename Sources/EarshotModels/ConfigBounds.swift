import EarshotTensor

/// Checks of config sizes against the weight file's real tensors, made *before* anything sized by
/// the config is built.
///
/// A config.json comes from outside: one claiming 10^6 decoder layers made loading build a weight
/// table of 11 million entries (2.1 GB of names and shapes) only to refuse the first missing
/// tensor. Every table entry must name a tensor of the file, so a table longer than the file's
/// tensor list can never bind: it is refused from its length alone, computed with checked
/// arithmetic. Once a table is bound (`check(against:)`), every size it holds is the shape of a
/// real tensor, so whatever is sized by the config afterwards is bounded by the file.
extension WeightTable {
    /// Refuses a config whose table would hold `entries` tensors (nil: the count overflowed) when
    /// the file has fewer. `claim` says what the config claimed, for the message.
    static func requireTensors(_ entries: Int?, in file: any WeightFile, path: String, claim: String) throws(ModelError) {
        let available = file.tensorNames.count
        guard let entries, entries <= available else {
            let needed = entries.map { "\($0) tensors" } ?? "more tensors than can be counted"
            throw .invalidConfig(path: path, reason: "\(claim) needs \(needed) but the weights hold \(available)")
        }
    }

    /// Checks that every expected tensor is in `file` with its shape (the first loop of
    /// `WeightStore`, without binding anything): afterwards the config's sizes are real.
    func check(against file: any WeightFile) throws(ModelError) {
        for e in entries {
            guard let (shape, _) = file.describe(e.name) else { throw .missingTensor(name: e.name) }
            guard shape == e.shape else { throw .shapeMismatch(tensor: e.name, expected: e.shape, actual: shape) }
        }
    }
}

/// Arithmetic on sizes from outside: overflow gives nil instead of a trap.
enum Checked {
    /// `a * b * ...`, nil on overflow or a negative factor.
    static func product(_ factors: Int...) -> Int? {
        var p = 1
        for f in factors {
            guard f >= 0, case (let next, false) = p.multipliedReportingOverflow(by: f) else { return nil }
            p = next
        }
        return p
    }

    /// `a + b + ...` of optional terms, nil if any is nil or the sum overflows.
    static func sum(_ terms: Int?...) -> Int? {
        var s = 0
        for t in terms {
            guard let t, case (let next, false) = s.addingReportingOverflow(t) else { return nil }
            s = next
        }
        return s
    }
}

extension Qwen3ASRWeights {
    /// Entries `table(config)` holds (nil on overflow), computed without building it: 7 for the
    /// conv stem, 16 per encoder layer, 6 for the encoder's tail, 2 for the embedding and final
    /// norm, 11 per decoder layer, 1 for the forced aligner's head. A test keeps this in step with `table`.
    static func tableCount(_ config: Qwen3ASRConfig) -> Int? {
        let a = config.thinkerConfig.audioConfig, t = config.thinkerConfig.textConfig
        return Checked.sum(7, Checked.product(16, a.encoderLayers), 6, 2, Checked.product(11, t.numHiddenLayers),
                           config.isForcedAligner ? 1 : 0)
    }

    /// The table for `config` once its layer counts fit `file`, and every tensor it names is
    /// there with its shape (nothing is mapped, copied or allocated beyond the table itself).
    static func checkedTable(_ config: Qwen3ASRConfig, file: any WeightFile, path: String) throws(ModelError) -> WeightTable {
        let a = config.thinkerConfig.audioConfig, t = config.thinkerConfig.textConfig
        try WeightTable.requireTensors(tableCount(config), in: file, path: path,
                                       claim: "encoder_layers \(a.encoderLayers) and num_hidden_layers \(t.numHiddenLayers)")
        let table = table(config)
        try table.check(against: file)
        return table
    }
}
