import EarshotTensor
import Foundation

extension WhisperModel {
    /// The resident cost of loading `directory` without loading it: weights as Earshot holds them
    /// (f32 copies, or q8/q4 blocks for the quantizable matrices) and one session's caches and
    /// scratch with `slots` hypotheses side by side (faster-whisper's defaults decode 5).
    public static func estimate(directory: String, precision: WeightPrecision = .inPlace,
                                slots: Int = 5) throws(ModelError) -> MemoryEstimate {
        let dims: WhisperDimensions
        let modelBin = URL(fileURLWithPath: directory).appendingPathComponent("model.bin").path
        if FileManager.default.fileExists(atPath: modelBin) {
            let f: CTranslate2File
            do { f = try CTranslate2File(path: modelBin) } catch { throw .ctranslate2(error) }
            defer { f.close() }
            dims = try ctranslate2Dimensions(f, path: modelBin)
        } else {
            let path = URL(fileURLWithPath: directory).appendingPathComponent("config.json").path
            guard let data = try ModelFiles.read(path).map({ Data($0) }) else {
                throw .notAModelDirectory(path: directory, reason: "neither model.bin nor config.json is present")
            }
            dims = try WhisperHFConfig.decode(data, path: path).dimensions(path: path)
            try dims.validate(path: directory)
            // The config's sizes must be the checkpoint's (headers only, no data is read), so the
            // products below are bounded by real tensors.
            let archive: SafeTensorsArchive
            do { archive = try SafeTensorsArchive(directory: directory) } catch { throw .weights(error) }
            defer { archive.close() }
            try WhisperWeights.table(dims, layout: .huggingFace).check(against: archive)
        }
        try dims.validate(path: directory)
        let d = dims.modelDim, f = dims.ffnDim
        let layerMatrices = 4 * d * d + 2 * d * f
        // Quantizable: every linear layer (a decoder layer's cross-attention adds 4 d x d) and the
        // head (see `WhisperWeights.table`).
        let quantizable = dims.encoderLayers * layerMatrices + dims.decoderLayers * (layerMatrices + 4 * d * d)
            + dims.vocabSize * d
        let small = d * dims.melBins * 3 + 3 * d * d + (dims.audioContext + dims.textContext) * d
            + (dims.encoderLayers + dims.decoderLayers) * (10 * d + f)
        var weights = 4 * (quantizable + small)
        if let format = precision.quantFormat { weights = quantizable / 32 * format.blockBytes + 4 * small }
        let a = dims.audioContext, t = dims.textContext
        let cache = 4 * 2 * dims.decoderLayers * (a + max(1, slots) * t) * d
        let scratch = 4 * (dims.melBins * 2 * a + a * d
                           + max(2 * a * (dims.melBins * 3 + d) + a * 3 * d,
                                 5 * a * d + a * f + Kernels.denseAttentionScratchCount(lq: a, lk: a))
                           + t * (4 * d + f) + max(1, slots) * dims.vocabSize + Kernels.attentionScratchCount(lk: a))
        let audio = 4 * (480_000 + dims.melBins * 3001)   // 30 s clip and its features
        return MemoryEstimate(weightBytes: weights, overheadBytes: 8 << 20, sessionBytes: cache + scratch + audio)
    }
}
