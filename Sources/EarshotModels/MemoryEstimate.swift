import EarshotTensor
import Foundation

/// What loading a model is expected to cost in resident memory, computed from its files and
/// config without loading it, so a manager can refuse a load that would not fit *before* it maps
/// anything (instead of being OOM-killed half way).
public struct MemoryEstimate: Sendable, Codable, Equatable {
    /// Weights resident once every page has been touched (mapped files, or their f32 copies).
    public var weightBytes: Int
    /// Tokenizer tables and other per-model heap.
    public var overheadBytes: Int
    /// One session: KV cache for `sessionTokens` positions, activation scratch, audio arena.
    public var sessionBytes: Int

    public func total(sessions: Int) -> Int { weightBytes + overheadBytes + max(sessions, 1) * sessionBytes }
}

extension Qwen3ASRModel {
    /// Estimates the resident cost of `directory` (a Qwen3-ASR checkpoint) with sessions that hold
    /// `sessionTokens` positions (prompt + generated) and 30 s of audio per request.
    public static func estimate(directory: String, precision: WeightPrecision = .inPlace,
                                sessionTokens: Int = 1536) throws(ModelError) -> MemoryEstimate {
        let dir = URL(fileURLWithPath: directory)
        let config = try Qwen3ASRConfig.load(path: dir.appendingPathComponent("config.json").path)
        let fm = FileManager.default
        func size(_ name: String) -> Int {
            ((try? fm.attributesOfItem(atPath: dir.appendingPathComponent(name).path))?[.size] as? Int) ?? 0
        }
        let files = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
        let weightFiles = files.filter { $0.hasSuffix(".safetensors") }.reduce(0) { $0 + size($1) }
        guard weightFiles > 0 else { throw .weights(.fileNotFound(path: "\(directory)/*.safetensors")) }
        // Checkpoints are bf16: a float32 copy doubles them.
        let weights = precision == .float32 ? 2 * weightFiles : weightFiles
        // Parsed vocabulary and merge tables take a few times their file size on the heap.
        let overhead = 4 * (size("vocab.json") + size("merges.txt") + size("tokenizer.json"))
        let t = config.thinkerConfig.textConfig, a = config.thinkerConfig.audioConfig
        let kv = t.numHiddenLayers * 2 * sessionTokens * t.numKeyValueHeads * t.headDim * 4
        let blockRows = 256
        let decoderScratch = 4 * (blockRows * (2 * t.hiddenSize + 2 * t.numAttentionHeads * t.headDim
                                               + 2 * t.intermediateSize) + t.vocabSize)
        // 30 s: 3000 mel frames, 390 audio tokens, one group of encoder windows.
        let audio = 4 * (a.numMelBins * 3000 + 390 * t.hiddenSize + 8 * 104 * (8 * a.dModel + a.encoderFFNDim))
        return MemoryEstimate(weightBytes: weights, overheadBytes: overhead, sessionBytes: kv + decoderScratch + audio)
    }
}
