import Foundation

/// `config.json` of a published Qwen3-ASR checkpoint, mirrored field by field.
///
/// Every number comes from the file: the config classes' defaults are Qwen3-Omni placeholders
/// (`configuration_qwen3_asr.py` in the official package) and must never be used, so the fields the model needs are required here.
public struct Qwen3ASRConfig: Codable, Sendable, Equatable {
    public var modelType: String
    public var supportLanguages: [String]?
    public var thinkerConfig: ThinkerConfig
    /// Forced aligner only: the id of `<timestamp>`, whose positions get a time class.
    public var timestampTokenID: Int?
    /// Forced aligner only: milliseconds per time class (80 in the published checkpoint).
    public var timestampSegmentTime: Double?

    public init(modelType: String, supportLanguages: [String]?, thinkerConfig: ThinkerConfig,
                timestampTokenID: Int? = nil, timestampSegmentTime: Double? = nil) {
        self.modelType = modelType
        self.supportLanguages = supportLanguages
        self.thinkerConfig = thinkerConfig
        self.timestampTokenID = timestampTokenID
        self.timestampSegmentTime = timestampSegmentTime
    }

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case supportLanguages = "support_languages"
        case thinkerConfig = "thinker_config"
        case timestampTokenID = "timestamp_token_id"
        case timestampSegmentTime = "timestamp_segment_time"
    }

    /// A Qwen3-ForcedAligner checkpoint: the same thinker with a time-class head. The official
    /// model decides this the same way (its head is built when the thinker's model_type contains
    /// "forced_aligner"); the root model_type is "qwen3_asr" for both.
    public var isForcedAligner: Bool { thinkerConfig.modelType?.contains("forced_aligner") == true }

    public struct ThinkerConfig: Codable, Sendable, Equatable {
        public var audioConfig: AudioConfig
        public var textConfig: TextConfig
        public var audioTokenID: Int
        public var audioStartTokenID: Int
        public var audioEndTokenID: Int
        /// "qwen3_forced_aligner" for the aligner (absent or "qwen3_asr" otherwise).
        public var modelType: String?
        /// Forced aligner only: time classes of the head (`thinker.lm_head.weight` [classify_num, hidden]).
        public var classifyNum: Int?

        public init(audioConfig: AudioConfig, textConfig: TextConfig, audioTokenID: Int, audioStartTokenID: Int,
                    audioEndTokenID: Int, modelType: String? = nil, classifyNum: Int? = nil) {
            self.audioConfig = audioConfig
            self.textConfig = textConfig
            self.audioTokenID = audioTokenID
            self.audioStartTokenID = audioStartTokenID
            self.audioEndTokenID = audioEndTokenID
            self.modelType = modelType
            self.classifyNum = classifyNum
        }

        enum CodingKeys: String, CodingKey {
            case audioConfig = "audio_config"
            case textConfig = "text_config"
            case audioTokenID = "audio_token_id"
            case audioStartTokenID = "audio_start_token_id"
            case audioEndTokenID = "audio_end_token_id"
            case modelType = "model_type"
            case classifyNum = "classify_num"
        }
    }

    /// `thinker_config.audio_config`: the AuT encoder and its projector.
    public struct AudioConfig: Codable, Sendable, Equatable {
        public var numMelBins: Int
        public var dModel: Int
        public var encoderLayers: Int
        public var encoderAttentionHeads: Int
        public var encoderFFNDim: Int
        public var outputDim: Int
        public var nWindow: Int
        public var nWindowInfer: Int
        public var downsampleHiddenSize: Int
        public var maxSourcePositions: Int?
        public var activationFunction: String?

        public init(numMelBins: Int, dModel: Int, encoderLayers: Int, encoderAttentionHeads: Int, encoderFFNDim: Int,
                    outputDim: Int, nWindow: Int, nWindowInfer: Int, downsampleHiddenSize: Int,
                    maxSourcePositions: Int?, activationFunction: String?) {
            self.numMelBins = numMelBins
            self.dModel = dModel
            self.encoderLayers = encoderLayers
            self.encoderAttentionHeads = encoderAttentionHeads
            self.encoderFFNDim = encoderFFNDim
            self.outputDim = outputDim
            self.nWindow = nWindow
            self.nWindowInfer = nWindowInfer
            self.downsampleHiddenSize = downsampleHiddenSize
            self.maxSourcePositions = maxSourcePositions
            self.activationFunction = activationFunction
        }

        enum CodingKeys: String, CodingKey {
            case numMelBins = "num_mel_bins"
            case dModel = "d_model"
            case encoderLayers = "encoder_layers"
            case encoderAttentionHeads = "encoder_attention_heads"
            case encoderFFNDim = "encoder_ffn_dim"
            case outputDim = "output_dim"
            case nWindow = "n_window"
            case nWindowInfer = "n_window_infer"
            case downsampleHiddenSize = "downsample_hidden_size"
            case maxSourcePositions = "max_source_positions"
            case activationFunction = "activation_function"
        }
    }

    /// `thinker_config.text_config`: the Qwen3 decoder.
    public struct TextConfig: Codable, Sendable, Equatable {
        public var vocabSize: Int
        public var hiddenSize: Int
        public var intermediateSize: Int
        public var numHiddenLayers: Int
        public var numAttentionHeads: Int
        public var numKeyValueHeads: Int
        public var headDim: Int
        public var rmsNormEps: Double
        public var ropeTheta: Double
        public var maxPositionEmbeddings: Int
        public var tieWordEmbeddings: Bool?
        public var hiddenAct: String?
        public var attentionBias: Bool?

        public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int,
                    numAttentionHeads: Int, numKeyValueHeads: Int, headDim: Int, rmsNormEps: Double,
                    ropeTheta: Double, maxPositionEmbeddings: Int, tieWordEmbeddings: Bool?, hiddenAct: String?,
                    attentionBias: Bool?) {
            self.vocabSize = vocabSize
            self.hiddenSize = hiddenSize
            self.intermediateSize = intermediateSize
            self.numHiddenLayers = numHiddenLayers
            self.numAttentionHeads = numAttentionHeads
            self.numKeyValueHeads = numKeyValueHeads
            self.headDim = headDim
            self.rmsNormEps = rmsNormEps
            self.ropeTheta = ropeTheta
            self.maxPositionEmbeddings = maxPositionEmbeddings
            self.tieWordEmbeddings = tieWordEmbeddings
            self.hiddenAct = hiddenAct
            self.attentionBias = attentionBias
        }

        enum CodingKeys: String, CodingKey {
            case vocabSize = "vocab_size"
            case hiddenSize = "hidden_size"
            case intermediateSize = "intermediate_size"
            case numHiddenLayers = "num_hidden_layers"
            case numAttentionHeads = "num_attention_heads"
            case numKeyValueHeads = "num_key_value_heads"
            case headDim = "head_dim"
            case rmsNormEps = "rms_norm_eps"
            case ropeTheta = "rope_theta"
            case maxPositionEmbeddings = "max_position_embeddings"
            case tieWordEmbeddings = "tie_word_embeddings"
            case hiddenAct = "hidden_act"
            case attentionBias = "attention_bias"
        }
    }

    /// Reads and validates `config.json`.
    public static func load(path: String) throws(ModelError) -> Qwen3ASRConfig {
        guard let data = try ModelFiles.read(path).map({ Data($0) }) else {
            throw .notAModelDirectory(path: path, reason: "config.json is missing or unreadable")
        }
        return try decode(data, path: path)
    }

    /// Decodes and validates config.json contents; `path` names them in errors.
    public static func decode(_ data: Data, path: String) throws(ModelError) -> Qwen3ASRConfig {
        let config: Qwen3ASRConfig
        do {
            config = try JSONDecoder().decode(Qwen3ASRConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, ctx) {
            let where_ = (ctx.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")
            throw .invalidConfig(path: path, reason: "missing '\(where_)'")
        } catch let DecodingError.typeMismatch(_, ctx) {
            throw .invalidConfig(path: path, reason: "wrong type at '\(ctx.codingPath.map(\.stringValue).joined(separator: "."))'")
        } catch {
            throw .invalidConfig(path: path, reason: "not valid JSON for a Qwen3-ASR config")
        }
        try config.validate(path: path)
        return config
    }

    /// Checks the relations the model relies on, so a wrong config fails at load, not mid-inference.
    public func validate(path: String) throws(ModelError) {
        let a = thinkerConfig.audioConfig, t = thinkerConfig.textConfig
        func check(_ ok: Bool, _ reason: String) throws(ModelError) {
            if !ok { throw .invalidConfig(path: path, reason: reason) }
        }
        let positive: [(String, Int)] = [
            ("num_mel_bins", a.numMelBins), ("d_model", a.dModel), ("encoder_layers", a.encoderLayers),
            ("encoder_attention_heads", a.encoderAttentionHeads), ("encoder_ffn_dim", a.encoderFFNDim),
            ("output_dim", a.outputDim), ("n_window", a.nWindow), ("n_window_infer", a.nWindowInfer),
            ("downsample_hidden_size", a.downsampleHiddenSize), ("vocab_size", t.vocabSize),
            ("hidden_size", t.hiddenSize), ("intermediate_size", t.intermediateSize),
            ("num_hidden_layers", t.numHiddenLayers), ("num_attention_heads", t.numAttentionHeads),
            ("num_key_value_heads", t.numKeyValueHeads), ("head_dim", t.headDim),
            ("max_position_embeddings", t.maxPositionEmbeddings),
        ]
        for (name, v) in positive { try check(v > 0 && v < 1 << 24, "\(name) = \(v) is out of range") }
        // The window sizes size the encoder's position table and scratch, and no tensor checks
        // them: bounded here, far above the published 50 / 800 (1 s chunks, 8 s windows).
        try check(a.nWindow <= 4096, "n_window = \(a.nWindow) is out of range (at most 4096)")
        try check(a.nWindowInfer <= 1 << 16, "n_window_infer = \(a.nWindowInfer) is out of range (at most 65536)")
        try check(a.dModel % a.encoderAttentionHeads == 0, "d_model \(a.dModel) is not divisible by encoder_attention_heads \(a.encoderAttentionHeads)")
        try check(t.numAttentionHeads % t.numKeyValueHeads == 0, "num_attention_heads must be a multiple of num_key_value_heads")
        try check(t.headDim % 2 == 0, "head_dim must be even for rotary embeddings")
        try check(a.outputDim == t.hiddenSize, "audio output_dim \(a.outputDim) != text hidden_size \(t.hiddenSize)")
        try check(a.nWindowInfer % (2 * a.nWindow) == 0, "n_window_infer must be a multiple of 2*n_window")
        try check(t.rmsNormEps > 0 && t.ropeTheta > 0, "rms_norm_eps and rope_theta must be positive")
        for id in [thinkerConfig.audioTokenID, thinkerConfig.audioStartTokenID, thinkerConfig.audioEndTokenID] {
            try check(id >= 0 && id < t.vocabSize, "special token id \(id) is outside the vocabulary")
        }
        if let act = a.activationFunction { try check(act == "gelu", "audio activation '\(act)' is not supported") }
        if let act = t.hiddenAct { try check(act == "silu", "text hidden_act '\(act)' is not supported") }
        if isForcedAligner {
            guard let classes = thinkerConfig.classifyNum, let slot = timestampTokenID, let ms = timestampSegmentTime else {
                throw .invalidConfig(path: path, reason: "a forced aligner needs thinker_config.classify_num, timestamp_token_id and timestamp_segment_time")
            }
            try check(classes > 0 && classes < 1 << 24, "classify_num = \(classes) is out of range")
            try check(slot >= 0 && slot < t.vocabSize, "timestamp_token_id \(slot) is outside the vocabulary")
            // Bounded so class x time stays an exact, finite number of milliseconds.
            try check(ms.isFinite && ms > 0 && ms <= 60_000, "timestamp_segment_time = \(ms) is out of range (0, 60000] ms")
        }
    }
}
