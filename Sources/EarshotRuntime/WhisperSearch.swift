import EarshotModels
import EarshotTensor
import Foundation

/// A finished hypothesis of one window.
struct WhisperHypothesis {
    /// Generated ids, end-of-text excluded.
    var tokens: [Int]
    /// Sum of the log-probabilities of every generated token, end-of-text included when it ended the hypothesis.
    var logProb: Float
    /// faster-whisper's `avg_logprob`: `logProb / (tokens + 1)` (NaN for an empty hypothesis, as there).
    var averageLogProb: Double {
        tokens.isEmpty ? .nan : Double(logProb) / Double(tokens.count + 1)
    }
}

/// The search over one encoded window, as CTranslate2's `Whisper.generate` does it: beam search at
/// temperature 0 (`BeamSearch::search`), independent sampled candidates above it (`GreedySearch`
/// with `num_hypotheses`, a `RandomSampler` over the whole vocabulary), argmax with one candidate.
/// Every step's logits go through the same processors: suppressed tokens, blank suppression at the
/// first step, the timestamp rules; then log-softmax.
///
/// Hypotheses live in the state's slots (one self-attention cache each). All advance one token
/// per step in one batched `decodeStep`. When beams fork, the child that keeps its parent's slot
/// copies nothing; only extra children copy the parent's cached rows into a freed slot. Every
/// buffer here is sized once per session (nothing is allocated per token).
final class WhisperSearch {
    let model: WhisperModel
    let slots: Int
    private let maxSteps: Int
    private let vocab: Int
    private let suppressed: [Int]
    private let suppressedAtBegin: [Int]
    // Per hypothesis slot k: its tokens so far (`histories[k * maxSteps ..< + length]`) and score.
    private var histories: [Int]
    private var nextHistories: [Int]
    private var scores: [Float]
    private var rowSlots: [Int]
    private var nextSlots: [Int]
    private var tokens: [Int]
    private var parentSlotUsed: [Bool]
    private var isParentSlot: [Bool]
    private var chosen: [Int]
    private var candidates: [Candidate]
    private var rowTop: [Candidate]

    struct Candidate { var score: Float = -.infinity; var row = 0; var id = 0 }

    init(model: WhisperModel, slots: Int, suppressed: [Int], suppressedAtBegin: [Int]) {
        self.model = model
        self.slots = slots
        maxSteps = model.dims.textContext
        vocab = model.dims.vocabSize
        self.suppressed = suppressed
        self.suppressedAtBegin = suppressedAtBegin
        histories = [Int](repeating: 0, count: slots * maxSteps)
        nextHistories = histories
        scores = [Float](repeating: 0, count: slots)
        rowSlots = Array(0..<slots)
        nextSlots = rowSlots
        tokens = [Int](repeating: 0, count: slots)
        parentSlotUsed = [Bool](repeating: false, count: slots)
        isParentSlot = parentSlotUsed
        chosen = [Int](repeating: 0, count: slots)
        candidates = [Candidate](repeating: Candidate(), count: 2 * slots)
        rowTop = candidates
    }

    /// What every search needs besides its own settings.
    struct Window {
        var state: WhisperState
        /// Tokens generated at most (CTranslate2: min(224, 448 - prompt + 1)).
        var maxLength: Int
        var rules: WhisperTimestampRules?
        var cancel: CancelFlag
        /// Argmax decoding only: stop when a short pattern repeats this often (0: never).
        var loopGuardRepeats = 0
        /// Benchmarks: end-of-text is generated like any token (see `TranscriptionOptions.ignoreEOS`).
        var ignoreEOS = false
    }

    /// Suppression and timestamp rules on one row's logits, then log-softmax in place.
    private func process(_ logits: UnsafeMutablePointer<Float>, history: UnsafeBufferPointer<Int>,
                         rules: WhisperTimestampRules?) {
        for id in suppressed { logits[id] = -.infinity }
        if history.isEmpty { for id in suppressedAtBegin { logits[id] = -.infinity } }
        rules?.apply(logits, generated: history)
        let lse = Kernels.logSumExp(logits, count: vocab)
        // Every token ruled out (a beam that took an impossible candidate): all stay -inf, not NaN.
        guard lse.isFinite else { return }
        for i in 0..<vocab { logits[i] -= lse }
    }

    private func history(_ buffer: UnsafeMutableBufferPointer<Int>, slot: Int, length: Int) -> UnsafeBufferPointer<Int> {
        UnsafeBufferPointer(rebasing: buffer[slot * maxSteps ..< slot * maxSteps + length])
    }

    // MARK: beam search

    /// Beam search over the window whose prompt is decoded into slot 0 (its logits in row 0).
    func beamSearch(_ w: Window, beamSize: Int, patience: Double, lengthPenalty: Double) throws(RuntimeError) -> WhisperHypothesis {
        guard w.maxLength > 0 else { return WhisperHypothesis(tokens: [], logProb: 0) }
        let beams = min(beamSize, slots), width = 2 * beams
        let enough = max(1, Int((Double(beams) * patience).rounded()))
        var finished: [(tokens: [Int], score: Float)] = []
        var alive = 1                                                    // rows decoded at this step
        for k in 0..<beams { rowSlots[k] = k; scores[k] = 0 }
        var step = 0
        while true {
            try w.cancel.check()
            let isLast = step + 1 >= w.maxLength
            // Candidates: the best `width` of (beam score + log-probability) over the alive rows.
            for i in 0..<width { candidates[i] = Candidate() }
            histories.withUnsafeMutableBufferPointer { hist in
                for row in 0..<alive {
                    let logits = w.state.logits(row: row)
                    process(logits, history: history(hist, slot: row, length: step), rules: w.rules)
                    topCandidates(logits, base: scores[row], row: row, into: &candidates, count: width)
                }
            }
            // Walk the first `beams` candidates; an end-of-text (or any candidate at the last step)
            // finishes a hypothesis and its place goes to the next unfinished candidate past the beam.
            var secondary = beams
            for k in 0..<beams {
                let c = candidates[k]
                var next = k
                // A candidate at -inf (fewer allowed tokens than candidates) never finishes.
                if (c.id == model.vocabulary.endOfText || isLast) && c.score > -.infinity {
                    var hyp = Array(histories[c.row * maxSteps ..< c.row * maxSteps + step])
                    if c.id != model.vocabulary.endOfText { hyp.append(c.id) }
                    finished.append((hyp, c.score))
                    for j in secondary..<width where candidates[j].id != model.vocabulary.endOfText {
                        next = j
                        secondary = j + 1
                        break
                    }
                }
                chosen[k] = next
            }
            if isLast || finished.count >= enough { break }
            // The new beams: histories extended, slots handed down (the first child keeps its
            // parent's cache, later children copy it into a slot no parent needs any more).
            for s in 0..<slots { parentSlotUsed[s] = false; isParentSlot[s] = false }
            for k in 0..<beams { isParentSlot[rowSlots[candidates[chosen[k]].row]] = true }
            var free = 0
            for k in 0..<beams {
                let c = candidates[chosen[k]]
                let parentSlot = rowSlots[c.row]
                if !parentSlotUsed[parentSlot] {
                    parentSlotUsed[parentSlot] = true
                    nextSlots[k] = parentSlot
                } else {
                    while isParentSlot[free] || parentSlotUsed[free] { free += 1 }
                    parentSlotUsed[free] = true
                    w.state.copySlot(parentSlot, to: free)
                    nextSlots[k] = free
                }
                let from = c.row * maxSteps, to = k * maxSteps
                for i in 0..<step { nextHistories[to + i] = histories[from + i] }
                nextHistories[to + step] = c.id
                tokens[k] = c.id
            }
            for k in 0..<beams {
                scores[k] = candidates[chosen[k]].score
                rowSlots[k] = nextSlots[k]
            }
            swap(&histories, &nextHistories)
            alive = beams
            step += 1
            try decodeRows(w.state, count: beams)
        }
        return Self.best(finished, lengthPenalty: lengthPenalty)
    }

    /// CTranslate2's `finalize_result`: the finished hypothesis with the best score / length^penalty
    /// (the first of equals).
    static func best(_ finished: [(tokens: [Int], score: Float)], lengthPenalty: Double) -> WhisperHypothesis {
        var best: (tokens: [Int], score: Float)?
        var bestNormalised = -Float.infinity
        for f in finished {
            let normalised = f.score / Float(pow(Double(f.tokens.count), lengthPenalty))
            if best == nil || normalised > bestNormalised { best = f; bestNormalised = normalised }
        }
        return WhisperHypothesis(tokens: best?.tokens ?? [], logProb: best?.score ?? -.infinity)
    }

    /// Keeps the `count` best of `base + logits[id]` (with row `row`) in `top`, best first.
    private func topCandidates(_ logits: UnsafePointer<Float>, base: Float, row: Int, into top: inout [Candidate], count: Int) {
        var floor = top[count - 1].score
        for id in 0..<vocab {
            let score = base + logits[id]
            guard score > floor else { continue }
            var i = count - 1
            while i > 0, top[i - 1].score < score { top[i] = top[i - 1]; i -= 1 }
            top[i] = Candidate(score: score, row: row, id: id)
            floor = top[count - 1].score
        }
    }

    /// One batched decoder step for rows `0..<count`: `tokens[k]` into slot `rowSlots[k]`.
    private func decodeRows(_ state: WhisperState, count: Int) throws(RuntimeError) {
        do {
            try tokens.withUnsafeBufferPointer { t throws(ModelError) in
                try rowSlots.withUnsafeBufferPointer { s throws(ModelError) in
                    try model.decodeStep(UnsafeBufferPointer(rebasing: t[0..<count]),
                                         slots: UnsafeBufferPointer(rebasing: s[0..<count]), state: state)
                }
            }
        } catch {
            throw .model(error)
        }
    }

    // MARK: sampling and argmax

    /// `candidates` independent hypotheses from the prompt in slot 0: sampled from
    /// softmax(log-probabilities / temperature), or argmax at temperature 0. The best by
    /// log-probability / length^penalty wins.
    /// `onToken` sees each token of a single candidate as it is chosen (streaming).
    func sample(_ w: Window, candidates count: Int, temperature: Double, lengthPenalty: Double,
                generator: inout SeededGenerator, onToken: (Int) -> Void = { _ in }) throws(RuntimeError) -> WhisperHypothesis {
        guard w.maxLength > 0 else { return WhisperHypothesis(tokens: [], logProb: 0) }
        let n = min(max(count, 1), slots)
        for k in 1..<max(n, 1) { w.state.copySlot(0, to: k) }
        // Row r of the step is hypothesis `rowSlots[r]`; finished ones drop out.
        var alive = n
        for k in 0..<n { rowSlots[k] = k; scores[k] = 0 }
        var finished: [(tokens: [Int], score: Float)] = []
        let loop = LoopGuard(repeats: w.loopGuardRepeats)
        var step = 0
        // Step 0: every candidate starts from the prompt's logits (row 0).
        for row in 1..<max(n, 1) { w.state.logits(row: row).update(from: w.state.logits(row: 0), count: vocab) }
        while alive > 0 {
            try w.cancel.check()
            let isLast = step + 1 >= w.maxLength
            var kept = 0
            for row in 0..<alive {
                let slot = rowSlots[row]
                let logits = w.state.logits(row: row)
                let id: Int = histories.withUnsafeMutableBufferPointer { hist in
                    process(logits, history: history(hist, slot: slot, length: step), rules: w.rules)
                    return temperature > 0 ? draw(logits, temperature: Float(temperature), generator: &generator)
                        : Kernels.argmax(logits, count: vocab)
                }
                scores[slot] += logits[id]
                let ended = id == model.vocabulary.endOfText && !w.ignoreEOS
                if !ended {
                    histories[slot * maxSteps + step] = id
                    if n == 1 { onToken(id) }
                }
                let length = ended ? step : step + 1
                let looping = !ended && n == 1 && loop.shouldStop(after: histories[slot * maxSteps ..< slot * maxSteps + length])
                if ended || isLast || looping {
                    finished.append((Array(histories[slot * maxSteps ..< slot * maxSteps + length]), scores[slot]))
                } else {
                    rowSlots[kept] = slot
                    tokens[kept] = id
                    kept += 1
                }
            }
            alive = kept
            step += 1
            if alive > 0 { try decodeRows(w.state, count: alive) }
        }
        return Self.best(finished, lengthPenalty: lengthPenalty)
    }

    /// A draw from softmax(logProbs / temperature).
    private func draw(_ logProbs: UnsafePointer<Float>, temperature: Float, generator: inout SeededGenerator) -> Int {
        var top = -Float.infinity
        for i in 0..<vocab where logProbs[i] > top { top = logProbs[i] }
        var total: Double = 0
        for i in 0..<vocab where logProbs[i] > -.infinity { total += Double(Foundation.exp((logProbs[i] - top) / temperature)) }
        guard total > 0 else { return model.vocabulary.endOfText }   // nothing allowed: end the candidate
        var u = Double.random(in: 0..<1, using: &generator) * total
        var last = 0
        for i in 0..<vocab where logProbs[i] > -.infinity {
            u -= Double(Foundation.exp((logProbs[i] - top) / temperature))
            last = i
            if u < 0 { return i }
        }
        return last
    }
}

/// xoshiro256** seeded through SplitMix64: a small, fast generator whose sequence depends only on
/// the seed (Swift's system generator cannot be seeded).
struct SeededGenerator: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }
}
