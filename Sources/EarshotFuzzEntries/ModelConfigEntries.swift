@_spi(Fuzzing) import EarshotModels
import Foundation

enum ModelConfigEntries {
    /// `Qwen3ASRConfig.decode` (decoding and validation), and the family detection a model load
    /// starts with (`model_type` of the directory's config.json).
    static func qwen3Config(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        let dir = ScratchDirectory.directory("qwen3-config")
        ScratchDirectory.write(bytes, "config.json", in: dir)
        var family = "none"
        do { family = try ModelRegistry.family(of: dir).rawValue } catch { family = "error" }
        do {
            let config = try Qwen3ASRConfig.decode(Data(bytes), path: "config.json")
            return .accepted("\(config.thinkerConfig.textConfig.numHiddenLayers) text layers; family \(family)")
        } catch {
            return .rejected(error.description)
        }
    }

    /// What a Whisper load reads from config.json: the Hugging Face dimensions (validated), the
    /// memory estimate computed from them, the suppressed token ids (`suppress_ids` of a
    /// CTranslate2 config, also read from a Hugging Face one) and the alignment heads.
    static func whisperConfig(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        let dir = ScratchDirectory.directory("whisper-config")
        ScratchDirectory.write(bytes, "config.json", in: dir)
        var summary: [String] = []
        var failure: ModelError?
        // Whisper base's sizes unless the config gives valid ones.
        var dims = WhisperDimensions(melBins: 80, modelDim: 512, encoderLayers: 6, decoderLayers: 6, encoderHeads: 8,
                                     decoderHeads: 8, ffnDim: 2048, vocabSize: 51_865, audioContext: 1500, textContext: 448)
        do {
            dims = try ModelFileParsing.whisperConfig(Data(bytes), path: "config.json")
            summary.append("\(dims.encoderLayers)+\(dims.decoderLayers) layers")
        } catch { failure = error }
        // The estimate also checks the config against the weight files' headers, which the scratch
        // directory does not have: its typed refusal is an outcome, not the config's failure.
        do {
            let estimate = try WhisperModel.estimate(directory: dir)
            summary.append("estimate \(estimate.weightBytes) weight bytes")
        } catch { summary.append("estimate refused: \(error)") }
        do {
            let generation = try ModelFileParsing.whisperGenerationConfig(directory: dir, dims: dims)
            summary.append("\(generation.suppressTokens.count) suppressed, \(generation.alignmentHeads.count) alignment heads")
        } catch { failure = failure ?? error }
        if let failure { return .rejected(failure.description) }
        return .accepted(summary.joined(separator: ", "))
    }

    static func preprocessorConfig(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        let data = Data(bytes)
        do {
            let config = try FeatureConfig.decode(data, path: "preprocessor_config.json", modelBins: 128)
            return .accepted("\(config.featureSize) bins, hop \(config.hopLength)")
        } catch {
            do {
                let config = try FeatureConfig.decode(data, path: "preprocessor_config.json", modelBins: 80)
                return .accepted("\(config.featureSize) bins, hop \(config.hopLength)")
            } catch {
                return .rejected(error.description)
            }
        }
    }

    /// `WhisperVocabulary.load(directory:)` with one vocabulary file, chosen by the first byte the
    /// way the formats begin: `[` a CTranslate2 vocabulary.json, `{` a Hugging Face tokenizer.json,
    /// anything else a CTranslate2 vocabulary.txt. Then the first 64 ids are decoded.
    static func whisperVocabulary(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        let dir = ScratchDirectory.directory("whisper-vocabulary")
        let names = ["vocabulary.json", "tokenizer.json", "vocabulary.txt"]
        let chosen = bytes.first == UInt8(ascii: "[") ? names[0] : bytes.first == UInt8(ascii: "{") ? names[1] : names[2]
        for name in names where name != chosen { ScratchDirectory.remove(name, in: dir) }
        ScratchDirectory.write(bytes, chosen, in: dir)
        do {
            let vocabulary = try WhisperVocabulary.load(directory: dir)
            let text = vocabulary.decode(0..<64)
            return .accepted("\(vocabulary.tokens.count) tokens from \(chosen); \(text.utf8.count) bytes decoded")
        } catch {
            return .rejected(error.description)
        }
    }
}
