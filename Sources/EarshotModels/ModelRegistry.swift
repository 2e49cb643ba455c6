import Foundation

/// Model families Earshot can load, keyed by `config.json`'s `model_type`.
///
/// Adding a family (Whisper) is one more case, one more registry entry and one more folder.
public enum ModelFamily: String, Sendable, CaseIterable {
    case qwen3ASR = "qwen3_asr"
    case whisper = "whisper"
    /// Word times for transcripts (config.json: model_type "qwen3_asr", thinker_config.model_type
    /// "qwen3_forced_aligner"); it aligns, it does not transcribe.
    case qwen3ForcedAligner = "qwen3_forced_aligner"

    /// The root `model_type`s of config.json Earshot reads (the aligner's is "qwen3_asr").
    public static let configModelTypes = [ModelFamily.qwen3ASR.rawValue, ModelFamily.whisper.rawValue]
}

/// A loaded model of any family.
public enum LoadedModel: Sendable {
    case qwen3ASR(Qwen3ASRModel)
    case whisper(WhisperModel)
    case qwen3ForcedAligner(Qwen3ForcedAlignerModel)

    public var family: ModelFamily {
        switch self {
        case .qwen3ASR: .qwen3ASR
        case .whisper: .whisper
        case .qwen3ForcedAligner: .qwen3ForcedAligner
        }
    }
    public var directory: String {
        switch self {
        case .qwen3ASR(let m): m.directory
        case .whisper(let m): m.directory
        case .qwen3ForcedAligner(let m): m.directory
        }
    }
    public var mappedBytes: Int {
        switch self {
        case .qwen3ASR(let m): m.mappedBytes
        case .whisper(let m): m.mappedBytes
        case .qwen3ForcedAligner(let m): m.mappedBytes
        }
    }
    /// Weight bytes one generated token reads (see the family's property).
    public var decodeWeightBytesPerToken: Int {
        switch self {
        case .qwen3ASR(let m): m.decodeWeightBytesPerToken
        case .whisper(let m): m.decodeWeightBytesPerToken
        case .qwen3ForcedAligner: 0   // one prefill, no generated tokens
        }
    }
    /// Decoder matrix parameters a prompt row goes through (prefill costs ~2x this per token).
    public var decodeParametersPerToken: Int {
        switch self {
        case .qwen3ASR(let m): m.decodeParametersPerToken
        case .whisper(let m): m.decodeParametersPerToken
        case .qwen3ForcedAligner(let m): m.decodeParametersPerToken
        }
    }
    /// Languages a request may force, by English name (Whisper's English-only models: English).
    public var supportedLanguages: [String] {
        switch self {
        case .qwen3ASR(let m): m.supportedLanguages
        case .whisper(let m): m.supportedLanguages
        case .qwen3ForcedAligner(let m): m.config.supportLanguages ?? []
        }
    }
    /// A description of how a weight file changed on disk since load, nil when it did not (see
    /// `WeightStore.fileChange()`). Checked before each use of the model.
    public func weightFileChange() -> String? {
        switch self {
        case .qwen3ASR(let m): m.store.fileChange()
        case .whisper(let m): m.store.fileChange()
        case .qwen3ForcedAligner(let m): m.store.fileChange()
        }
    }

    /// Throws `weightsChanged` when a weight file was truncated or rewritten in place since load.
    public func checkWeightFiles() throws(ModelError) {
        if let change = weightFileChange() { throw .weightsChanged(change) }
    }

    public func close() {
        switch self {
        case .qwen3ASR(let m): m.close()
        case .whisper(let m): m.close()
        case .qwen3ForcedAligner(let m): m.close()
        }
    }
}

public enum ModelRegistry {
    /// Names the family of `directory`: a CTranslate2 `model.bin` directory is Whisper (the only
    /// CTranslate2 spec Earshot runs; its config.json has no `model_type`), otherwise `model_type`
    /// of the config.json of the directory or converted GGUF file decides.
    public static func family(of directory: String) throws(ModelError) -> ModelFamily {
        if FileManager.default.fileExists(atPath: URL(fileURLWithPath: directory).appendingPathComponent("model.bin").path) {
            return .whisper
        }
        let files = try ModelFiles(path: directory)
        defer { files.close() }
        let path = files.location("config.json")
        guard let bytes = try files.bytes("config.json") else {
            throw .notAModelDirectory(path: directory, reason: "config.json is missing")
        }
        guard let obj = JSONField.object(Data(bytes)) else {
            throw .invalidConfig(path: path, reason: "not a JSON object")
        }
        guard case .string(let type) = obj["model_type"] else {
            throw .invalidConfig(path: path, reason: "missing 'model_type'")
        }
        guard ModelFamily.configModelTypes.contains(type), let family = ModelFamily(rawValue: type) else {
            throw .unsupportedModelType(path: directory, modelType: type, supported: ModelFamily.configModelTypes)
        }
        // The aligner shares Qwen3-ASR's root model_type; its thinker says what it is (as the
        // official code decides whether to build the time-class head).
        struct Thinker: Decodable {
            struct Inner: Decodable { let model_type: String? }
            let thinker_config: Inner?
        }
        if family == .qwen3ASR, let thinker = try? JSONDecoder().decode(Thinker.self, from: Data(bytes)),
           thinker.thinker_config?.model_type?.contains("forced_aligner") == true {
            return .qwen3ForcedAligner
        }
        return family
    }

    /// Loads the model in `directory`, whatever its family.
    /// `progress(done, total)` reports matrices quantized at load (`q8`/`q4` from a bf16 checkpoint).
    public static func load(directory: String, precision: WeightPrecision = .inPlace,
                            progress: ((Int, Int) -> Void)? = nil) throws(ModelError) -> LoadedModel {
        switch try family(of: directory) {
        case .qwen3ASR: return .qwen3ASR(try Qwen3ASRModel(directory: directory, precision: precision, progress: progress))
        case .whisper: return .whisper(try WhisperModel(directory: directory, precision: precision, progress: progress))
        case .qwen3ForcedAligner:
            return .qwen3ForcedAligner(try Qwen3ForcedAlignerModel(directory: directory, precision: precision, progress: progress))
        }
    }

    /// The resident cost of loading `directory` (see `MemoryEstimate`), whatever its family.
    public static func estimate(directory: String, precision: WeightPrecision = .inPlace) throws(ModelError) -> MemoryEstimate {
        switch try family(of: directory) {
        // The aligner is the same thinker: its estimate is Qwen3-ASR's (a 5000-class head instead of the tied one).
        case .qwen3ASR, .qwen3ForcedAligner: return try Qwen3ASRModel.estimate(directory: directory, precision: precision)
        case .whisper: return try WhisperModel.estimate(directory: directory, precision: precision)
        }
    }
}
