import EarshotModels
import EarshotRuntime
import EarshotTensor
import Foundation

/// Decode throughput of a Qwen3-ASR model when several sequences decode together
/// (`Qwen3ASRModel.stepBatch`): aggregate tokens per second for each batch size, against one
/// sequence alone, in the same process. Every sequence is prefilled with the same `promptTokens`
/// text tokens (no audio: decode speed depends on the cache length, not on where it came from),
/// then all decode `tokens` steps greedily side by side.
public enum BatchDecodeBenchmark {
    public struct Row: Sendable, Codable, Equatable {
        public var rows: Int
        /// Milliseconds per batched step (every row advances one token), median of the steps.
        public var stepMilliseconds: Double
        /// Tokens per second summed over the rows.
        public var tokensPerSecond: Double
        /// `tokensPerSecond` over the one-row figure of the same run.
        public var speedup: Double
    }

    public static func run(model: Qwen3ASRModel, rowCounts: [Int], tokens: Int, promptTokens: Int = 96,
                           progress: (String) -> Void = { _ in }) throws(ModelError) -> [Row] {
        let vocab = model.config.thinkerConfig.textConfig.vocabSize
        let maxRows = rowCounts.max() ?? 1
        let maxTokens = promptTokens + tokens + 2
        let batch = try model.makeBatch(maxRows: maxRows, maxTokens: maxTokens)
        var states: [Qwen3ASRState] = []
        defer { batch.close(); states.forEach { $0.close() } }
        for _ in 0..<maxRows { states.append(try model.makeState(maxTokens: maxTokens)) }
        let prompt = (0..<promptTokens).map { 1_000 + ($0 * 7919) % 20_000 }
        var rows: [Row] = []
        var ids = [Int](repeating: 0, count: maxRows)
        var stepMs: [Double] = []
        stepMs.reserveCapacity(tokens)
        for n in [1] + rowCounts.filter({ $0 != 1 }) {
            progress("batch of \(n): prefilling")
            for i in 0..<n {
                states[i].reset()
                try model.prefill(tokens: prompt, audio: nil, audioCount: 0, state: states[i])
                ids[i] = Kernels.argmax(states[i].logitsPointer, count: vocab)
            }
            progress("batch of \(n): decoding \(tokens) steps")
            stepMs.removeAll(keepingCapacity: true)
            let clock = ContinuousClock()
            try ids.withUnsafeMutableBufferPointer { t throws(ModelError) in
                try states.withUnsafeBufferPointer { s throws(ModelError) in
                    let tokens0 = UnsafeBufferPointer(rebasing: t[0..<n]), states0 = UnsafeBufferPointer(rebasing: s[0..<n])
                    for _ in 0..<tokens {
                        let start = clock.now
                        try model.stepBatch(tokens: tokens0, states: states0, batch: batch)
                        stepMs.append((clock.now - start).milliseconds)
                        for i in 0..<n { t[i] = Kernels.argmax(batch.logits(row: i), count: vocab) }
                    }
                }
            }
            let median = stepMs.sorted()[stepMs.count / 2]
            let perSecond = Double(n) * 1_000 / median
            rows.append(Row(rows: n, stepMilliseconds: median, tokensPerSecond: perSecond,
                            speedup: perSecond / (rows.first?.tokensPerSecond ?? perSecond)))
        }
        return rows.filter { rowCounts.contains($0.rows) }
    }
}
