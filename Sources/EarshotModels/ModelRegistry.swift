import Foundation

/// Model families Earshot can load, keyed by `config.json`'s `model_type`.
///
/// Adding a family (Whisper) is one more case, one more registry entry and one more folder.
public enum ModelFamily: String, Sendable, CaseIterable {
    case qwen3ASR = "qwen3_asr"
}

/// A loaded model of any family.
public enum LoadedModel: Sendable {
    case qwen3ASR(Qwen3ASRModel)

    public var family: ModelFamily {
        switch self { case .qwen3ASR: .qwen3ASR }
    }
    public var directory: String {
        switch self { case .qwen3ASR(let m): m.directory }
    }
    public var mappedBytes: Int {
        switch self { case .qwen3ASR(let m): m.mappedBytes }
    }
    public func close() {
        switch self { case .qwen3ASR(let m): m.close() }
    }
}

public enum ModelRegistry {
    /// Reads `model_type` from the config.json of `directory` (a model directory or converted
    /// GGUF file) and names the family.
    public static func family(of directory: String) throws(ModelError) -> ModelFamily {
        let files = try ModelFiles(path: directory)
        defer { files.close() }
        let path = files.location("config.json")
        guard let bytes = files.bytes("config.json") else {
            throw .notAModelDirectory(path: directory, reason: "config.json is missing")
        }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw .invalidConfig(path: path, reason: "not a JSON object")
        }
        guard let type = obj["model_type"] as? String else {
            throw .invalidConfig(path: path, reason: "missing 'model_type'")
        }
        guard let family = ModelFamily(rawValue: type) else {
            throw .unsupportedModelType(path: directory, modelType: type, supported: ModelFamily.allCases.map(\.rawValue))
        }
        return family
    }

    /// Loads the model in `directory`, whatever its family.
    /// `progress(done, total)` reports matrices quantized at load (`q8`/`q4` from a bf16 checkpoint).
    public static func load(directory: String, precision: WeightPrecision = .inPlace,
                            progress: ((Int, Int) -> Void)? = nil) throws(ModelError) -> LoadedModel {
        switch try family(of: directory) {
        case .qwen3ASR: return .qwen3ASR(try Qwen3ASRModel(directory: directory, precision: precision, progress: progress))
        }
    }
}
