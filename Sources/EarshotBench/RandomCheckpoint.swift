import EarshotModels
import EarshotTensor
import Foundation

/// Writes Qwen3-ASR checkpoints with random weights at the real 0.6B / 1.7B shapes (the published `Qwen/Qwen3-ASR-0.6B` and `-1.7B` `config.json` and safetensors):
/// exact tensor names, shapes, bf16 dtype, shard layout and config nesting, so speed and memory
/// can be measured at true size without the real weights.
public enum RandomCheckpoint {
    public enum Shape: String, Sendable, CaseIterable {
        case tiny, b06 = "0.6b", b17 = "1.7b"
        /// The published Qwen3-ForcedAligner-0.6B: the 1.7B's encoder, a 28-layer 1024-wide
        /// decoder and the [5000, 1024] time-class head.
        case aligner06 = "aligner-0.6b"
        /// A few hundred KB with its own byte-level tokenizer: loads in milliseconds, for lifecycle tests.
        case micro
    }

    /// The published hyperparameters for `shape` (the tiny shape is the parity fixture's).
    public static func config(_ shape: Shape) -> Qwen3ASRConfig {
        if shape == .micro { return MicroCheckpoint.config }
        if shape == .aligner06 { return alignerConfig }
        let big = shape == .b17
        let audio = Qwen3ASRConfig.AudioConfig(
            numMelBins: 128, dModel: shape == .tiny ? 64 : (big ? 1024 : 896),
            encoderLayers: shape == .tiny ? 2 : (big ? 24 : 18),
            encoderAttentionHeads: shape == .tiny ? 4 : (big ? 16 : 14),
            encoderFFNDim: shape == .tiny ? 128 : (big ? 4096 : 3584),
            outputDim: shape == .tiny ? 64 : (big ? 2048 : 1024), nWindow: 50, nWindowInfer: 800,
            downsampleHiddenSize: shape == .tiny ? 16 : 480, maxSourcePositions: 1500, activationFunction: "gelu")
        let text = Qwen3ASRConfig.TextConfig(
            vocabSize: 151936, hiddenSize: audio.outputDim,
            intermediateSize: shape == .tiny ? 96 : (big ? 6144 : 3072),
            numHiddenLayers: shape == .tiny ? 2 : 28, numAttentionHeads: shape == .tiny ? 4 : 16,
            numKeyValueHeads: shape == .tiny ? 2 : 8, headDim: shape == .tiny ? 32 : 128, rmsNormEps: 1e-6,
            ropeTheta: 1_000_000, maxPositionEmbeddings: 65536, tieWordEmbeddings: true, hiddenAct: "silu",
            attentionBias: false)
        return Qwen3ASRConfig(
            modelType: Qwen3ASRModel.modelType, supportLanguages: Qwen3ASRPrompt.languages,
            thinkerConfig: .init(audioConfig: audio, textConfig: text, audioTokenID: 151676,
                                 audioStartTokenID: 151669, audioEndTokenID: 151670))
    }

    /// `Qwen/Qwen3-ForcedAligner-0.6B`'s config.json numbers.
    static var alignerConfig: Qwen3ASRConfig {
        let audio = Qwen3ASRConfig.AudioConfig(
            numMelBins: 128, dModel: 1024, encoderLayers: 24, encoderAttentionHeads: 16, encoderFFNDim: 4096,
            outputDim: 1024, nWindow: 50, nWindowInfer: 800, downsampleHiddenSize: 480, maxSourcePositions: 1500,
            activationFunction: "gelu")
        let text = Qwen3ASRConfig.TextConfig(
            vocabSize: 152064, hiddenSize: 1024, intermediateSize: 3072, numHiddenLayers: 28, numAttentionHeads: 16,
            numKeyValueHeads: 8, headDim: 128, rmsNormEps: 1e-6, ropeTheta: 1_000_000, maxPositionEmbeddings: 8192,
            tieWordEmbeddings: false, hiddenAct: "silu", attentionBias: false)
        return Qwen3ASRConfig(
            modelType: Qwen3ASRModel.modelType,
            supportLanguages: ["Chinese", "Cantonese", "English", "German", "Spanish", "French", "Italian", "Portuguese",
                               "Russian", "Korean", "Japanese"],
            thinkerConfig: .init(audioConfig: audio, textConfig: text, audioTokenID: 151676, audioStartTokenID: 151669,
                                 audioEndTokenID: 151670, modelType: "qwen3_forced_aligner", classifyNum: 5000),
            timestampTokenID: 151705, timestampSegmentTime: 80)
    }

    /// Writes the checkpoint into `output` and copies tokenizer/preprocessor files from `tokenizerFrom`
    /// (the micro shape writes its own). 1.7B is written as two shards with `model.safetensors.index.json`,
    /// as published.
    public static func write(shape: Shape, to output: String, tokenizerFrom: String?, seed: UInt64 = 1,
                             progress: ((String) -> Void)? = nil) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: output, withIntermediateDirectories: true)
        let cfg = config(shape)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var configObject = try JSONSerialization.jsonObject(with: encoder.encode(cfg)) as! [String: Any]
        configObject["architectures"] = ["Qwen3ASRForConditionalGeneration"]
        var thinker = configObject["thinker_config"] as! [String: Any]
        thinker["dtype"] = "bfloat16"
        thinker["model_type"] = cfg.isForcedAligner ? "qwen3_forced_aligner" : "qwen3_asr_thinker"
        var textConfig = thinker["text_config"] as! [String: Any]
        textConfig["rope_scaling"] = ["mrope_section": [24, 20, 20], "interleaved": true, "rope_type": "default"]
        thinker["text_config"] = textConfig
        configObject["thinker_config"] = thinker
        try JSONSerialization.data(withJSONObject: configObject, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: output).appendingPathComponent("config.json"))
        if shape == .micro { try MicroCheckpoint.writeSupportFiles(to: output) }
        for name in ["vocab.json", "merges.txt", "tokenizer_config.json", "chat_template.json",
                     "preprocessor_config.json", "generation_config.json", "tokenizer.json"] where shape != .micro {
            guard let tokenizerFrom else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "tokenizer directory"]) }
            let src = URL(fileURLWithPath: tokenizerFrom).appendingPathComponent(name)
            let dst = URL(fileURLWithPath: output).appendingPathComponent(name)
            guard fm.fileExists(atPath: src.path) else { continue }
            try? fm.removeItem(at: dst)
            try fm.copyItem(at: src, to: dst)
        }

        // Every table entry, plus the stored duplicate head of Qwen3-ASR, as bf16.
        let table = Qwen3ASRWeights.table(cfg)
        var entries = table.entries.map { SafeTensorsWriter.Entry(name: $0.name, dtype: .bf16, shape: $0.shape) }
        for (name, shape) in table.optional { entries.append(.init(name: name, dtype: .bf16, shape: shape)) }
        let shards = shape == .b17 ? split(entries, into: 2) : [entries]
        var weightMap: [String: String] = [:]
        for (i, shard) in shards.enumerated() {
            let file = shards.count == 1 ? "model.safetensors" : String(format: "model-%05d-of-%05d.safetensors", i + 1, shards.count)
            for e in shard { weightMap[e.name] = file }
            var written = 0
            let total = shard.count
            try SafeTensorsWriter.write(path: URL(fileURLWithPath: output).appendingPathComponent(file).path,
                                        entries: shard, metadata: ["format": "pt"]) { e, dst in
                fill(e, dst, seed: seed)
                written += 1
                if written % 50 == 0 || written == total { progress?("\(file): \(written)/\(total) tensors") }
            }
        }
        if shards.count > 1 {
            let totalSize = entries.reduce(0) { $0 + $1.byteCount }
            let index: [String: Any] = ["metadata": ["total_size": totalSize], "weight_map": weightMap]
            try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
                .write(to: URL(fileURLWithPath: output).appendingPathComponent(SafeTensorsArchive.indexFileName))
        }
    }

    /// Splits entries, in order, into `count` groups of similar byte size.
    static func split(_ entries: [SafeTensorsWriter.Entry], into count: Int) -> [[SafeTensorsWriter.Entry]] {
        let total = entries.reduce(0) { $0 + $1.byteCount }
        var groups: [[SafeTensorsWriter.Entry]] = [[]]
        var size = 0
        for e in entries {
            if size >= total / count * groups.count, groups.count < count { groups.append([]) }
            groups[groups.count - 1].append(e)
            size += e.byteCount
        }
        return groups
    }

    /// Deterministic values per tensor: norms near 1, biases small, matrices uniform in ±1/sqrt(in).
    static func fill(_ e: SafeTensorsWriter.Entry, _ dst: UnsafeMutableRawBufferPointer, seed: UInt64) {
        var state = seed ^ UInt64(truncatingIfNeeded: e.name.hashValueStable)
        let n = e.byteCount / 2
        let isNorm = e.name.hasSuffix("norm.weight") || e.name.contains("layer_norm.weight") || e.name.contains("ln_post.weight")
        let isBias = e.name.hasSuffix(".bias")
        let fanIn = e.shape.count >= 2 ? e.shape.dropFirst().reduce(1, *) : 1
        let scale: Float = isNorm ? 0.1 : (isBias ? 0.02 : 1 / Float(fanIn).squareRoot())
        let offset: Float = isNorm ? 1 : 0
        let out = dst.baseAddress!.assumingMemoryBound(to: UInt16.self)
        for i in 0..<n {
            // xorshift64*: fast and good enough for random weights.
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            let r = state &* 0x2545_F491_4F6C_DD1D
            let u = Float(r >> 40) / Float(1 << 24) * 2 - 1
            out[i] = bf16Bits(offset + scale * u)
        }
    }
}

extension String {
    /// FNV-1a, stable across runs (Swift's `hashValue` is seeded per process).
    var hashValueStable: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h | 1
    }
}
