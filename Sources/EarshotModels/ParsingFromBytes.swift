import Foundation

/// Doors to the Whisper configuration readers, which are internal to this module, for the fuzz
/// targets (`fuzz/`) and the regression corpus the tests replay (`EarshotFuzzEntries`). Each runs
/// the same steps a model load runs on that file.
///
/// `@_spi(Fuzzing)`: not part of the library's API; only a client that writes
/// `@_spi(Fuzzing) import EarshotModels` sees it.
@_spi(Fuzzing) public enum ModelFileParsing {
    /// A Hugging Face Whisper `config.json`: its dimensions, checked as `WhisperModel.init` checks them.
    public static func whisperConfig(_ data: Data, path: String) throws(ModelError) -> WhisperDimensions {
        let config = try WhisperHFConfig.decode(data, path: path)
        guard config.modelType == WhisperModel.modelType else {
            throw .unsupportedModelType(path: path, modelType: config.modelType, supported: [WhisperModel.modelType])
        }
        let dims = try config.dimensions(path: path)
        try dims.validate(path: path)
        return dims
    }

    /// The suppressed tokens and alignment heads of a Whisper directory's `config.json` /
    /// `generation_config.json`, for a model of `dims`.
    public static func whisperGenerationConfig(directory: String, dims: WhisperDimensions) throws(ModelError) -> WhisperGenerationConfig {
        try WhisperGenerationConfig.read(directory: directory, vocabSize: dims.vocabSize, dims: dims)
    }
}
