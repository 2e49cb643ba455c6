/// The fuzz targets: one per parser of outside bytes. Each entry runs the real parser on the
/// bytes and turns its typed error into `.rejected`; only a crash, a sanitizer report, a hang or
/// an outsized allocation can fail a run. The same entries serve the libFuzzer binary (`fuzz/`,
/// run by `scripts/fuzz`) and the tests, which replay the seed corpus (`fuzz/corpus/<target>/`)
/// and every input a fuzzer ever crashed on (`Tests/Fixtures/fuzz-regressions/<target>/`).

/// What a parser made of an input.
public enum FuzzOutcome: Sendable, Equatable {
    /// The input parsed; a short summary of what it held.
    case accepted(String)
    /// The parser refused the input with this typed error's message.
    case rejected(String)

    public var isAccepted: Bool { if case .accepted = self { true } else { false } }
}

/// One fuzz target: a name (the corpus directory's name) and its entry.
public struct FuzzTarget: Sendable {
    public let name: String
    /// What the target's inputs are, for `scripts/fuzz list`.
    public let summary: String
    public let run: @Sendable (UnsafeRawBufferPointer) -> FuzzOutcome

    public init(_ name: String, _ summary: String, _ run: @escaping @Sendable (UnsafeRawBufferPointer) -> FuzzOutcome) {
        self.name = name
        self.summary = summary
        self.run = run
    }
}

public enum FuzzTargets {
    public static let all: [FuzzTarget] = [
        FuzzTarget("wav", "WAV/RF64 file: header, sample decoding, conditioning", AudioEntries.wav),
        FuzzTarget("wav-resample", "WAV/RF64 file, then resampling of a prefix (<= 0.5 s) from its rate to 16 kHz",
                   AudioEntries.wavResample),
        FuzzTarget("safetensors", ".safetensors file: header length, JSON header, offsets", TensorEntries.safetensors),
        FuzzTarget("safetensors-index", "model.safetensors.index.json, next to three small shards",
                   TensorEntries.safetensorsIndex),
        FuzzTarget("gguf", "GGUF file: metadata, tensor infos, alignment, overlaps", TensorEntries.gguf),
        FuzzTarget("ctranslate2", "CTranslate2 model.bin: variables, aliases", TensorEntries.ctranslate2),
        FuzzTarget("onnx", "ONNX model (protobuf): graph nodes, attributes, initializers", TensorEntries.onnx),
        FuzzTarget("qwen3-config", "Qwen3-ASR config.json, and model-family detection from it",
                   ModelConfigEntries.qwen3Config),
        FuzzTarget("whisper-config", "Whisper config.json (Hugging Face dimensions or CTranslate2 suppress ids), "
                   + "memory estimate", ModelConfigEntries.whisperConfig),
        FuzzTarget("preprocessor-config", "preprocessor_config.json (feature extractor)",
                   ModelConfigEntries.preprocessorConfig),
        FuzzTarget("whisper-vocabulary", "Whisper vocabulary.json ('['), tokenizer.json ('{') or vocabulary.txt",
                   ModelConfigEntries.whisperVocabulary),
        FuzzTarget("tokenizer-json", "Hugging Face tokenizer.json, then encode/decode of a fixed text",
                   TokenizerEntries.tokenizerJSON),
        FuzzTarget("tokenizer-vocab", "vocab.json (with small valid merges.txt and tokenizer_config.json)",
                   TokenizerEntries.vocab),
        FuzzTarget("tokenizer-merges", "merges.txt (with a small valid vocab.json)", TokenizerEntries.merges),
        FuzzTarget("tokenizer-config", "tokenizer_config.json (with small valid vocab.json and merges.txt)",
                   TokenizerEntries.config),
        FuzzTarget("multipart", "multipart/form-data request: first line the Content-Type value, the rest the body",
                   ServerEntries.multipart),
        FuzzTarget("c-options", "C ABI options JSON (load and transcription options)", ServerEntries.cOptions),
    ]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}
