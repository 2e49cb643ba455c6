import EarshotModels
import EarshotTokenizer
import Foundation

/// The `micro` random checkpoint: the Qwen3-ASR architecture at toy width with a 264-token
/// byte-level vocabulary (256 byte tokens, no merges, the special tokens the prompt needs at
/// 256...), written with its own tokenizer and preprocessor files. It loads in milliseconds even
/// in debug builds, so lifecycle tests can load, transcribe and unload hundreds of times.
enum MicroCheckpoint {
    /// Special tokens, in id order from 256.
    static let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|audio_start|>", "<|audio_end|>",
                           "<|audio_pad|>", "<asr_text>", "<|micro_reserved|>"]
    static func id(_ token: String) -> Int { 256 + specials.firstIndex(of: token)! }

    static var config: Qwen3ASRConfig {
        let audio = Qwen3ASRConfig.AudioConfig(
            numMelBins: 128, dModel: 32, encoderLayers: 1, encoderAttentionHeads: 2, encoderFFNDim: 64,
            outputDim: 32, nWindow: 50, nWindowInfer: 800, downsampleHiddenSize: 8, maxSourcePositions: 1500,
            activationFunction: "gelu")
        let text = Qwen3ASRConfig.TextConfig(
            vocabSize: 256 + specials.count, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 1,
            numAttentionHeads: 2, numKeyValueHeads: 1, headDim: 16, rmsNormEps: 1e-6, ropeTheta: 1_000_000,
            maxPositionEmbeddings: 65536, tieWordEmbeddings: true, hiddenAct: "silu", attentionBias: false)
        return Qwen3ASRConfig(
            modelType: Qwen3ASRModel.modelType, supportLanguages: Qwen3ASRPrompt.languages,
            thinkerConfig: .init(audioConfig: audio, textConfig: text, audioTokenID: id("<|audio_pad|>"),
                                 audioStartTokenID: id("<|audio_start|>"), audioEndTokenID: id("<|audio_end|>")))
    }

    /// vocab.json, merges.txt, tokenizer_config.json, generation_config.json, preprocessor_config.json.
    static func writeSupportFiles(to output: String) throws {
        let dir = URL(fileURLWithPath: output)
        func write(_ object: Any, _ name: String) throws {
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                .write(to: dir.appendingPathComponent(name))
        }
        var vocab: [String: Int] = [:]
        for byte in 0..<256 { vocab[String(ByteLevel.character(forByte: UInt8(byte)))] = byte }
        try write(vocab, "vocab.json")
        try Data("#version: 0.2\n".utf8).write(to: dir.appendingPathComponent("merges.txt"))
        var added: [String: Any] = [:]
        for (i, token) in specials.enumerated() {
            added[String(256 + i)] = ["content": token, "special": token != "<asr_text>", "lstrip": false,
                                      "rstrip": false, "normalized": false, "single_word": false]
        }
        try write(["added_tokens_decoder": added, "tokenizer_class": "Qwen2Tokenizer"], "tokenizer_config.json")
        try write(["eos_token_id": [id("<|im_end|>"), id("<|endoftext|>")], "do_sample": false], "generation_config.json")
        try write(["feature_extractor_type": "WhisperFeatureExtractor", "feature_size": 128, "hop_length": 160,
                   "n_fft": 400, "sampling_rate": 16000, "chunk_length": 30, "n_samples": 480000,
                   "nb_max_frames": 3000, "padding_value": 0.0, "dither": 0.0], "preprocessor_config.json")
    }
}
