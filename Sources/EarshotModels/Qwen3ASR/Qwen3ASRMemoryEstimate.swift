import EarshotTensor
import Foundation

extension Qwen3ASRModel {
    /// Estimates the resident cost of `path` (a Qwen3-ASR checkpoint directory or converted GGUF
    /// file) with sessions that hold `sessionTokens` positions (prompt + generated) and 30 s of
    /// audio per request.
    public static func estimate(directory path: String, precision: WeightPrecision = .inPlace,
                                sessionTokens: Int = 1536) throws(ModelError) -> MemoryEstimate {
        let files = try ModelFiles(path: path)
        defer { files.close() }
        guard let configBytes = try files.bytes("config.json") else {
            throw .notAModelDirectory(path: path, reason: "config.json is missing")
        }
        let config = try Qwen3ASRConfig.decode(Data(configBytes), path: files.location("config.json"))
        // The config's sizes are checked against the checkpoint's tensor headers first (mapping
        // reads no data), so every product below is bounded by real tensors, not by the config.
        let weightFile = try files.weights()
        defer { weightFile.close() }   // idempotent: a GGUF file is `files` itself
        _ = try Qwen3ASRWeights.checkedTable(config, file: weightFile, path: files.location("config.json"))
        let fm = FileManager.default
        func size(_ file: String) -> Int { ((try? fm.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0 }
        let t = config.thinkerConfig.textConfig, a = config.thinkerConfig.audioConfig
        var weights: Int
        if files.isGGUF {
            weights = size(path)   // stored as it will be used: zero copies
            // A quantized encoder gets its conv stem as q8_0 GEMM matrices too (Qwen3QuantizedConvStem).
            if case .quantized? = weightFile.describe(Qwen3ASRNames.convOut)?.1 {
                weights += 2 * QuantFormat.q8_0.byteCount(rows: a.downsampleHiddenSize, cols: 9 * a.downsampleHiddenSize)
            }
        } else {
            let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            let stored = names.filter { $0.hasSuffix(".safetensors") }.reduce(0) { $0 + size(files.location($1)) }
            guard stored > 0 else { throw .weights(.fileNotFound(path: "\(path)/*.safetensors")) }
            // Checkpoints are bf16: a float32 copy doubles them; q8/q4 replace the decoder's
            // bf16 matrices (whose pages are released after conversion) with their blocks.
            weights = precision == .float32 ? 2 * stored : stored
            if let format = precision.quantFormat {
                let (h, i, hd) = (t.hiddenSize, t.intermediateSize, t.headDim)
                let perLayer = (t.numAttentionHeads * hd * h) * 2 + (t.numKeyValueHeads * hd * h) * 2 + 3 * i * h
                let params = t.numHiddenLayers * perLayer + t.vocabSize * h
                weights += params / 32 * format.blockBytes - 2 * params
            }
        }
        // Parsed vocabulary and merge tables take a few times their file size on the heap.
        let overhead = 4 * ["vocab.json", "merges.txt", "tokenizer.json"].reduce(0) { $0 + ((try? files.bytes($1))??.count ?? 0) }
        let kv = t.numHiddenLayers * 2 * sessionTokens * t.numKeyValueHeads * t.headDim * 4
        let blockRows = 256
        let decoderScratch = 4 * (blockRows * (2 * t.hiddenSize + 2 * t.numAttentionHeads * t.headDim
                                               + 2 * t.intermediateSize) + t.vocabSize
                                  + t.intermediateSize * t.hiddenSize    // one matrix converted for sgemm
                                  + Kernels.attentionScratchCount(lk: sessionTokens))
        // 30 s: 3000 mel frames, 390 audio tokens, one group of encoder windows.
        let audio = 4 * (a.numMelBins * 3000 + 390 * t.hiddenSize + 8 * 104 * (8 * a.dModel + a.encoderFFNDim))
        return MemoryEstimate(weightBytes: weights, overheadBytes: overhead, sessionBytes: kv + decoderScratch + audio)
    }
}
