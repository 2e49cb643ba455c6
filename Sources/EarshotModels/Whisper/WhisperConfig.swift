import Foundation

/// The sizes of a Whisper checkpoint. CTranslate2 directories carry no architecture in their
/// config.json, so these come from tensor shapes there; Hugging Face directories state them in
/// config.json (`d_model`, `encoder_layers`...) and the weight table then checks every shape.
public struct WhisperDimensions: Sendable, Equatable {
    public var melBins: Int          // 80 (tiny ... large-v2) or 128 (large-v3)
    public var modelDim: Int         // d_model
    public var encoderLayers: Int
    public var decoderLayers: Int
    public var encoderHeads: Int
    public var decoderHeads: Int
    public var ffnDim: Int
    public var vocabSize: Int        // 51864 (.en) or 51865 / 51866
    public var audioContext: Int     // 1500 encoder positions = 30 s
    public var textContext: Int      // 448 decoder positions

    public init(melBins: Int, modelDim: Int, encoderLayers: Int, decoderLayers: Int, encoderHeads: Int, decoderHeads: Int,
                ffnDim: Int, vocabSize: Int, audioContext: Int, textContext: Int) {
        self.melBins = melBins
        self.modelDim = modelDim
        self.encoderLayers = encoderLayers
        self.decoderLayers = decoderLayers
        self.encoderHeads = encoderHeads
        self.decoderHeads = decoderHeads
        self.ffnDim = ffnDim
        self.vocabSize = vocabSize
        self.audioContext = audioContext
        self.textContext = textContext
    }

    /// Mel frames per 30 s window: two per encoder position (conv2 has stride 2).
    public var windowFrames: Int { audioContext * 2 }

    /// Checks that the sizes make a Whisper model.
    func validate(path: String) throws(ModelError) {
        func bad(_ r: String) -> ModelError { .invalidConfig(path: path, reason: r) }
        let positive = [melBins, modelDim, encoderLayers, decoderLayers, encoderHeads, decoderHeads, ffnDim, vocabSize,
                        audioContext, textContext]
        guard positive.allSatisfy({ $0 > 0 && $0 < 1 << 24 }) else { throw bad("sizes must be positive and sane: \(self)") }
        guard modelDim % encoderHeads == 0, modelDim % decoderHeads == 0 else {
            throw bad("d_model \(modelDim) is not divisible by the head count (\(encoderHeads), \(decoderHeads))")
        }
        guard encoderLayers <= 64, decoderLayers <= 64 else { throw bad("more than 64 layers") }
    }
}

/// Decoding settings a checkpoint ships: tokens never generated, and tokens not allowed first.
/// One cross-attention head used for word timing.
public struct WhisperAlignmentHead: Sendable, Equatable, Hashable {
    public var layer: Int
    public var head: Int
    public init(layer: Int, head: Int) { self.layer = layer; self.head = head }
}

public struct WhisperGenerationConfig: Sendable, Equatable {
    public var suppressTokens: [Int] = []
    public var suppressAtBegin: [Int] = []
    /// Cross-attention heads (decoder layer, head) whose weights follow the words' timing (word
    /// timestamps); empty when the checkpoint does not list them.
    public var alignmentHeads: [WhisperAlignmentHead] = []

    /// CTranslate2 `config.json` (`suppress_ids`, `suppress_ids_begin`, `alignment_heads`) or Hugging
    /// Face `generation_config.json` (`suppress_tokens`, `begin_suppress_tokens`, `alignment_heads`).
    static func read(directory: String, vocabSize: Int, dims: WhisperDimensions) throws(ModelError) -> WhisperGenerationConfig {
        var result = WhisperGenerationConfig()
        let dir = URL(fileURLWithPath: directory)
        for (file, suppress, begin) in [("config.json", "suppress_ids", "suppress_ids_begin"),
                                        ("generation_config.json", "suppress_tokens", "begin_suppress_tokens")] {
            let path = dir.appendingPathComponent(file).path
            guard let data = try ModelFiles.read(path).map({ Data($0) }) else { continue }
            guard let obj = JSONField.object(data) else {
                throw .invalidConfig(path: path, reason: "not a JSON object")
            }
            func ids(_ key: String) throws(ModelError) -> [Int]? {
                guard let value = obj[key], value != .null else { return nil }
                guard case .ints(let list) = value, list.allSatisfy({ $0 >= 0 && $0 < vocabSize }) else {
                    throw .invalidConfig(path: path, reason: "'\(key)' must be a list of token ids below \(vocabSize)")
                }
                return list
            }
            if let s = try ids(suppress) { result.suppressTokens = s }
            if let b = try ids(begin) { result.suppressAtBegin = b }
            if let value = obj["alignment_heads"], value != .null {
                let heads: [[Int]]
                switch value {
                case .intLists(let lists): heads = lists
                case .ints(let list) where list.isEmpty: heads = []
                default: throw .invalidConfig(path: path, reason: "'alignment_heads' must be a list of [layer, head] pairs")
                }
                // Bounded by the model: at most every head of every decoder layer, each in range.
                guard heads.count <= dims.decoderLayers * dims.decoderHeads,
                      heads.allSatisfy({ $0.count == 2 && (0..<dims.decoderLayers).contains($0[0])
                                           && (0..<dims.decoderHeads).contains($0[1]) }) else {
                    throw .invalidConfig(path: path, reason: "'alignment_heads' must be [layer, head] pairs within "
                                         + "\(dims.decoderLayers) layers of \(dims.decoderHeads) heads")
                }
                result.alignmentHeads = heads.map { WhisperAlignmentHead(layer: $0[0], head: $0[1]) }
            }
        }
        return result
    }
}

/// Hugging Face `config.json` of `openai/whisper-*` (WhisperConfig), the fields Earshot uses.
struct WhisperHFConfig: Decodable {
    var modelType: String
    var numMelBins: Int
    var dModel: Int
    var encoderLayers: Int
    var decoderLayers: Int
    var encoderAttentionHeads: Int
    var decoderAttentionHeads: Int
    var encoderFfnDim: Int
    var decoderFfnDim: Int
    var vocabSize: Int
    var maxSourcePositions: Int
    var maxTargetPositions: Int

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", numMelBins = "num_mel_bins", dModel = "d_model", encoderLayers = "encoder_layers"
        case decoderLayers = "decoder_layers", encoderAttentionHeads = "encoder_attention_heads"
        case decoderAttentionHeads = "decoder_attention_heads", encoderFfnDim = "encoder_ffn_dim"
        case decoderFfnDim = "decoder_ffn_dim", vocabSize = "vocab_size", maxSourcePositions = "max_source_positions"
        case maxTargetPositions = "max_target_positions"
    }

    static func decode(_ data: Data, path: String) throws(ModelError) -> WhisperHFConfig {
        do { return try JSONDecoder().decode(WhisperHFConfig.self, from: data) } catch {
            throw .invalidConfig(path: path, reason: "\(error)")
        }
    }

    func dimensions(path: String) throws(ModelError) -> WhisperDimensions {
        guard encoderFfnDim == decoderFfnDim else {
            throw .invalidConfig(path: path, reason: "encoder_ffn_dim \(encoderFfnDim) != decoder_ffn_dim \(decoderFfnDim)")
        }
        return WhisperDimensions(melBins: numMelBins, modelDim: dModel, encoderLayers: encoderLayers,
                                 decoderLayers: decoderLayers, encoderHeads: encoderAttentionHeads,
                                 decoderHeads: decoderAttentionHeads, ffnDim: encoderFfnDim, vocabSize: vocabSize,
                                 audioContext: maxSourcePositions, textContext: maxTargetPositions)
    }
}
