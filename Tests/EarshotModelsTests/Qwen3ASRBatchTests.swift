import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotModels

/// Batched decoding (`Qwen3ASRModel.stepBatch`) against one sequence at a time on the tiny
/// checkpoint: five sequences (the golden prompts and audio) join one per step and leave after
/// different token counts, so the batch changes at every step; every row's logits must be
/// bit-identical to the unbatched step's and the greedy tokens equal. Runs at every kernel level
/// (`scripts/test`), in f32 and q8 (on AVX-512 VNNI one decode kernel for one row and many, `ek_q8_0_decode_vnni`).
@Suite(.serialized) struct Qwen3ASRBatchTests {
    static let f32: Qwen3ASRModel = try! Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path)
    static let q8: Qwen3ASRModel = try! Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path, precision: .q8)

    struct Sequence {
        let prompt: [Int]
        let audio: [Float]
        let audioCount: Int
        let tokens: Int            // generated before it leaves the batch
    }

    static func sequences(_ model: Qwen3ASRModel) throws -> [Sequence] {
        try Qwen3ASRParityTests.cases.enumerated().map { i, c in
            let golden = try SafeTensorsFile(path: Fixtures.qwenTinyGolden(c.id).path)
            let embeds = try golden.tensor("audio_embeds")
            let n = embeds.shape[0]
            let prompt = try model.promptTokens(context: c.context, language: c.language, audioTokens: n)
            return Sequence(prompt: prompt, audio: embeds.floatArray(), audioCount: n, tokens: 9 + 4 * i)
        }
    }

    /// FNV-1a over the bit patterns: equal hashes of all logits stand for bit-identical rows.
    static func hash(_ p: UnsafePointer<Float>, _ count: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<count { h = (h ^ UInt64(p[i].bitPattern)) &* 0x100_0000_01b3 }
        return h
    }

    /// Greedy ids of one sequence alone (end-of-text decoded like any token) and the hash of the
    /// logits each id was picked from.
    static func alone(_ model: Qwen3ASRModel, _ s: Sequence) throws -> (ids: [Int], hashes: [UInt64]) {
        let vocab = model.config.thinkerConfig.textConfig.vocabSize
        let state = try model.makeState(maxTokens: s.prompt.count + s.tokens + 1)
        defer { state.close() }
        try model.prefill(tokens: s.prompt, audio: s.audio, audioCount: s.audioCount, state: state)
        var ids = [Kernels.argmax(state.logitsPointer, count: vocab)], hashes = [hash(state.logitsPointer, vocab)]
        while ids.count < s.tokens {
            try model.step(token: ids.last!, state: state)
            ids.append(Kernels.argmax(state.logitsPointer, count: vocab))
            hashes.append(hash(state.logitsPointer, vocab))
        }
        return (ids, hashes)
    }

    @Test(arguments: ["f32", "q8"])
    func joinsAndLeavesAtEveryStepKeepEveryToken(_ precision: String) throws {
        let model = precision == "q8" ? Self.q8 : Self.f32
        let vocab = model.config.thinkerConfig.textConfig.vocabSize
        let seqs = try Self.sequences(model)
        let want = try seqs.map { try Self.alone(model, $0) }
        let maxTokens = seqs.map { $0.prompt.count + $0.tokens + 1 }.max()!
        let batch = try model.makeBatch(maxRows: seqs.count, maxTokens: maxTokens)
        let states = try seqs.map { _ in try model.makeState(maxTokens: maxTokens) }
        defer { batch.close(); states.forEach { $0.close() } }

        var ids = [[Int]](repeating: [], count: seqs.count)
        var hashes = [[UInt64]](repeating: [], count: seqs.count)
        var active: [Int] = []
        var rows: [Int] = [], tokens: [Int] = [], stepStates: [Qwen3ASRState] = []
        var step = 0, sizes: [Int] = []
        while step < seqs.count || !active.isEmpty {
            if step < seqs.count {                                    // sequence `step` joins at this boundary
                let s = seqs[step], state = states[step]
                try model.prefill(tokens: s.prompt, audio: s.audio, audioCount: s.audioCount, state: state)
                ids[step].append(Kernels.argmax(state.logitsPointer, count: vocab))
                hashes[step].append(Self.hash(state.logitsPointer, vocab))
                active.append(step)
            }
            active.removeAll { ids[$0].count >= seqs[$0].tokens }     // leave after their own count
            rows = active
            tokens = rows.map { ids[$0].last! }
            stepStates = rows.map { states[$0] }
            sizes.append(rows.count)
            if !rows.isEmpty {
                try tokens.withUnsafeBufferPointer { t in
                    try stepStates.withUnsafeBufferPointer { s in try model.stepBatch(tokens: t, states: s, batch: batch) }
                }
                for (r, i) in rows.enumerated() {
                    ids[i].append(Kernels.argmax(batch.logits(row: r), count: vocab))
                    hashes[i].append(Self.hash(batch.logits(row: r), vocab))
                }
            }
            step += 1
        }
        #expect(sizes.max() ?? 0 >= 4, "the batch never held four sequences: \(sizes)")
        #expect(Set(sizes).count >= 4, "the batch size did not change from step to step: \(sizes)")
        for i in seqs.indices {
            #expect(ids[i] == want[i].ids, "\(precision) sequence \(i): batched ids differ")
            #expect(hashes[i] == want[i].hashes, "\(precision) sequence \(i): batched logits are not bit-identical")
        }
    }

    @Test func oversizedOrMismatchedBatchesAreTypedErrors() throws {
        let model = Self.f32
        let batch = try model.makeBatch(maxRows: 2, maxTokens: 64)
        let state = try model.makeState(maxTokens: 64)
        defer { batch.close(); state.close() }
        let three = [1, 2, 3], states = [state, state, state]
        #expect(throws: ModelError.self) {
            try three.withUnsafeBufferPointer { t in
                try states.withUnsafeBufferPointer { s in try model.stepBatch(tokens: t, states: s, batch: batch) }
            }
        }
        let bad = [-1], one = [state]
        #expect(throws: ModelError.self) {
            try bad.withUnsafeBufferPointer { t in
                try one.withUnsafeBufferPointer { s in try model.stepBatch(tokens: t, states: s, batch: batch) }
            }
        }
        let two = [1, 2], same = [state, state]
        #expect(throws: ModelError.self) {
            try two.withUnsafeBufferPointer { t in
                try same.withUnsafeBufferPointer { s in try model.stepBatch(tokens: t, states: s, batch: batch) }
            }
        }
        #expect(state.length == 0, "a refused step must not touch the state")
        #expect(throws: ModelError.self) { _ = try model.makeBatch(maxRows: 0, maxTokens: 64) }
    }
}
