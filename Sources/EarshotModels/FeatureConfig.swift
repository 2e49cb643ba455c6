import Foundation

/// `preprocessor_config.json` (WhisperFeatureExtractor): the log-mel front end a checkpoint expects.
/// `chunk_length`/`n_samples` are deliberately ignored: Qwen3-ASR extracts features with
/// `padding=True`, never padding to 30 s (the official `processing_qwen3_asr.py`); clips shorter
/// than 0.5 s are not padded either.
public struct FeatureConfig: Codable, Sendable, Equatable {
    public var featureSize: Int
    public var samplingRate: Int
    public var hopLength: Int
    public var nFFT: Int

    enum CodingKeys: String, CodingKey {
        case featureSize = "feature_size", samplingRate = "sampling_rate", hopLength = "hop_length", nFFT = "n_fft"
    }

    public init(featureSize: Int, samplingRate: Int = 16_000, hopLength: Int = 160, nFFT: Int = 400) {
        self.featureSize = featureSize
        self.samplingRate = samplingRate
        self.hopLength = hopLength
        self.nFFT = nFFT
    }

    /// Reads the file when present (else the Whisper defaults with `bins` mel bins) and checks it
    /// agrees with the model: the encoder's `num_mel_bins` and the 16 kHz the audio layer produces.
    public static func load(directory: String, modelBins: Int) throws(ModelError) -> FeatureConfig {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("preprocessor_config.json").path
        return try decode(try ModelFiles.read(path).map { Data($0) }, path: path, modelBins: modelBins)
    }

    /// `preprocessor_config.json` contents (nil when the model has none); `path` names them in errors.
    public static func decode(_ data: Data?, path: String, modelBins: Int) throws(ModelError) -> FeatureConfig {
        guard let data else { return FeatureConfig(featureSize: modelBins) }
        let c: FeatureConfig
        do { c = try JSONDecoder().decode(FeatureConfig.self, from: data) } catch {
            throw .invalidConfig(path: path, reason: "needs integer feature_size, sampling_rate, hop_length and n_fft")
        }
        guard c.featureSize == modelBins else {
            throw .invalidConfig(path: path, reason: "feature_size \(c.featureSize) != encoder num_mel_bins \(modelBins)")
        }
        guard c.samplingRate == 16_000 else { throw .invalidConfig(path: path, reason: "sampling_rate \(c.samplingRate) is not 16000") }
        guard c.hopLength > 0, c.nFFT > 0, c.nFFT <= 4096, c.hopLength <= c.nFFT else {
            throw .invalidConfig(path: path, reason: "hop_length \(c.hopLength) / n_fft \(c.nFFT) out of range")
        }
        return c
    }
}
