import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotModels

/// Broken Whisper directories, one fault each: every load fails with the `ModelError` case for
/// that fault, its message names the tensor or file, and nothing stays mapped.
@Suite(.serialized) struct WhisperBadModelTests {
    typealias Synthetic = SyntheticWhisper
    typealias Entry = CTranslate2Writer.Entry
    static let model = Synthetic()
    static let int8Model = Synthetic(storage: .int8)

    /// The error loading `dir` gives (nil if it loads), checking that a failed load unmaps everything.
    func loadError(_ dir: URL) -> ModelError? {
        let mapped = MemoryCounters.anonymousBytes + MemoryCounters.fileBytes, buffers = MemoryCounters.liveBuffers
        do {
            let m = try WhisperModel(directory: dir.path)
            m.close()
            return nil
        } catch {
            #expect(MemoryCounters.anonymousBytes + MemoryCounters.fileBytes == mapped, "a failed load left memory mapped")
            #expect(MemoryCounters.liveBuffers == buffers)
            return error
        }
    }

    /// A CTranslate2 directory of the synthetic model with its variables edited.
    func ct2(_ model: Synthetic = model, _ edit: (inout [Entry]) -> Void = { _ in }) throws -> URL {
        let dir = Synthetic.scratchDirectory("whisper-bad")
        var entries = model.ctranslate2Entries
        edit(&entries)
        try model.writeCTranslate2(to: dir, entries: entries)
        return dir
    }

    func hf(_ edit: (URL) throws -> Void = { _ in }) throws -> URL {
        let dir = Synthetic.scratchDirectory("whisper-bad-hf")
        try Self.model.writeHuggingFace(to: dir)
        try edit(dir)
        return dir
    }

    func editJSON(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
        var obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&obj)
        try Synthetic.writeJSON(obj, to: url)
    }

    func expectError(_ dir: URL, _ expected: ModelError, naming words: [String],
                     sourceLocation: SourceLocation = #_sourceLocation) {
        defer { try? FileManager.default.removeItem(at: dir) }
        guard let error = loadError(dir) else {
            Issue.record("loaded; expected \(expected)", sourceLocation: sourceLocation)
            return
        }
        #expect(error == expected, sourceLocation: sourceLocation)
        for w in words { #expect(error.description.contains(w), "'\(error)' does not name \(w)", sourceLocation: sourceLocation) }
    }

    /// A float variable replaced by another encoding of the same shape.
    static func retyped(_ name: String, _ dtype: CTranslate2DType, in entries: inout [Entry]) {
        let i = entries.firstIndex { $0.name == name }!
        let shape = entries[i].shape
        entries[i] = Entry(name: name, shape: shape, dtype: dtype, bytes: [UInt8](repeating: 1, count: shape.reduce(1, *) * dtype.size))
    }

    static func replacingScalar(_ name: String, _ value: Int, in entries: inout [Entry]) {
        let i = entries.firstIndex { $0.name == name }!
        entries[i] = Entry(name: name, scalar: value, as: entries[i].dtype)
    }

    @Test(arguments: ["decoder/layer_0/attention/linear_1/bias", "encoder/layer_1/ffn/layer_norm/gamma",
                      "encoder/conv1/weight", "decoder/layer_1/ffn/linear_0/weight", "encoder/layer_0/ffn/linear_0/weight"])
    func missingTensorIsNamed(_ name: String) throws {
        expectError(try ct2 { $0.removeAll { $0.name == name } }, .missingTensor(name: name), naming: [name])
    }

    @Test func extraTensorIsNamed() throws {
        let name = "decoder/layer_0/attention/linear_3/weight"
        expectError(try ct2 { $0.append(Entry(name: name, shape: [4, 4], floats: [Float](repeating: 0, count: 16))) },
                    .unexpectedTensor(name: name), naming: [name])
        // A stray layer past the last one is extra, not a reason to expect a whole layer.
        let stray = "encoder/layer_7/ffn/linear_0/weight"
        expectError(try ct2 { $0.append(Entry(name: stray, shape: [256, 64], floats: [Float](repeating: 0, count: 256 * 64))) },
                    .unexpectedTensor(name: stray), naming: [stray])
    }

    @Test func misshapedTensorIsNamedWithBothShapes() throws {
        let name = "encoder/layer_1/self_attention/linear_0/weight"
        expectError(try ct2 { e in
            e.removeAll { $0.name == name }
            e.append(Entry(name: name, shape: [192, 63], floats: [Float](repeating: 0, count: 192 * 63)))
        }, .shapeMismatch(tensor: name, expected: [192, 64], actual: [192, 63]), naming: [name, "[192, 63]", "[192, 64]"])
        let bias = "decoder/layer_1/attention/linear_1/bias"
        expectError(try ct2 { e in
            e.removeAll { $0.name == bias }
            e.append(Entry(name: bias, shape: [64], floats: [Float](repeating: 0, count: 64)))
        }, .shapeMismatch(tensor: bias, expected: [128], actual: [64]), naming: [bias])
    }

    @Test(arguments: [("decoder/layer_0/ffn/layer_norm/gamma", CTranslate2DType.int32),
                      ("encoder/layer_1/ffn/linear_1/weight", .int16),
                      ("decoder/embeddings/weight", .int32),
                      ("encoder/conv2/bias", .int16)])
    func integerTensorWhereFloatsBelongIsRefused(_ name: String, _ dtype: CTranslate2DType) throws {
        expectError(try ct2 { Self.retyped(name, dtype, in: &$0) },
                    .unsupportedDType(tensor: name, dtype: dtype.description), naming: [name, dtype.description])
    }

    @Test func int8WithoutItsScaleIsRefused() throws {
        let name = "encoder/layer_0/self_attention/linear_1/weight"
        let reason = "int8 without a per-row float32 '\(name)_scale'"
        // A float model with one int8 matrix and no scale.
        expectError(try ct2 { Self.retyped(name, .int8, in: &$0) }, .unsupportedDType(tensor: name, dtype: reason),
                    naming: [name, "_scale"])
        // The int8 model with one scale removed, or of the wrong length.
        expectError(try ct2(Self.int8Model) { $0.removeAll { $0.name == name + "_scale" } },
                    .unsupportedDType(tensor: name, dtype: reason), naming: [name])
        expectError(try ct2(Self.int8Model) { e in
            e.removeAll { $0.name == name + "_scale" }
            e.append(Entry(name: name + "_scale", shape: [65], floats: [Float](repeating: 1, count: 65)))
        }, .unsupportedDType(tensor: name, dtype: reason), naming: [name])
        // A scale stored as float16.
        expectError(try ct2(Self.int8Model) { e in
            e.removeAll { $0.name == name + "_scale" }
            e.append(Entry(name: name + "_scale", shape: [64], floats: [Float](repeating: 1, count: 64), as: .float16))
        }, .unsupportedDType(tensor: name, dtype: reason), naming: [name])
        // A scale for a matrix that is not int8 is extra.
        let f32 = "encoder/layer_0/ffn/linear_0/weight"
        expectError(try ct2 { $0.append(Entry(name: f32 + "_scale", shape: [5], floats: [Float](repeating: 1, count: 5))) },
                    .shapeMismatch(tensor: f32 + "_scale", expected: [256], actual: [5]), naming: [f32 + "_scale"])
    }

    @Test func truncatedModelBinIsATypedErrorAtEveryCut() throws {
        let dir = try ct2()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("model.bin")
        let whole = try Data(contentsOf: path)
        // Inside the version, the spec name, the first variable's header, a large tensor's data,
        // the alias section, and one byte short of the end.
        let firstData = 4 + 2 + "WhisperSpec".utf8.count + 1 + 4 + 4 + 2 + "decoder/activation".utf8.count + 1 + 1
        for cut in [0, 2, 9, firstData, whole.count / 3, whole.count / 2, whole.count - 40, whole.count - 1] {
            try whole.prefix(cut).write(to: path)
            guard let error = loadError(dir) else { Issue.record("a file cut at \(cut) loaded"); continue }
            guard case .ctranslate2(let inner) = error else { Issue.record("cut at \(cut): \(error)"); continue }
            if cut > 0 {
                guard case .truncated(let p, _, _, _, let size) = inner else { Issue.record("cut at \(cut): \(inner)"); continue }
                #expect(p == path.path && size == cut)
            }
            #expect(error.description.contains("model.bin"), "\(error)")
        }
    }

    @Test func vocabularyProblemsAreNamed() throws {
        let none = try ct2()
        try FileManager.default.removeItem(at: none.appendingPathComponent("vocabulary.txt"))
        expectError(none, .tokenizer("\(none.path): no vocabulary.json, vocabulary.txt or tokenizer.json"),
                    naming: ["vocabulary.txt"])
        let noTimestamps = try ct2()
        let path = noTimestamps.appendingPathComponent("vocabulary.txt")
        try Synthetic.writeVocabularyText(Synthetic.vocabulary.map { $0 == "<|notimestamps|>" ? "<|notimestamp|>" : $0 }, to: path)
        expectError(noTimestamps, .tokenizer("\(path.path): vocabulary has no <|notimestamps|> token"),
                    naming: ["<|notimestamps|>", "vocabulary.txt"])
        // More tokens than the embedding has rows.
        let long = try ct2()
        try Synthetic.writeVocabularyText(Synthetic.vocabulary + ["<|30.00|>", "<|30.02|>"], to: long.appendingPathComponent("vocabulary.txt"))
        expectError(long, .tokenizer("\(long.path): 98 tokens for a model of 96"), naming: ["98 tokens"])
        // A vocabulary.json that is not a list of strings.
        let json = try ct2()
        try Data("{\"a\": 1}".utf8).write(to: json.appendingPathComponent("vocabulary.json"))
        expectError(json, .tokenizer("\(json.path)/vocabulary.json: expected a JSON array of strings"), naming: ["vocabulary.json"])
    }

    @Test func emptyOrMissingDirectoryIsNotAModel() throws {
        let empty = Synthetic.scratchDirectory("whisper-empty")
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(loadError(empty) == .notAModelDirectory(path: empty.path, reason: "neither model.bin nor config.json is present"))
        #expect(throws: ModelError.notAModelDirectory(path: empty.path, reason: "config.json is missing")) {
            _ = try ModelRegistry.load(directory: empty.path)
        }
        let missing = empty.appendingPathComponent("nope").path
        #expect(throws: ModelError.notAModelDirectory(path: missing, reason: "no such file or directory")) {
            _ = try ModelRegistry.load(directory: missing)
        }
    }

    @Test func garbageConfigIsNamed() throws {
        let dir = try ct2()
        let config = dir.appendingPathComponent("config.json")
        try Data("suppress_ids: [1, 2".utf8).write(to: config)
        expectError(dir, .invalidConfig(path: config.path, reason: "not a JSON object"), naming: ["config.json"])
        let hfDir = try hf { try Data([0xFF, 0x00, 0x7B]).write(to: $0.appendingPathComponent("config.json")) }
        defer { try? FileManager.default.removeItem(at: hfDir) }
        let error = loadError(hfDir)
        guard case .invalidConfig(let path, _) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(path == hfDir.appendingPathComponent("config.json").path)
        #expect(throws: ModelError.invalidConfig(path: path, reason: "not a JSON object")) {
            _ = try ModelRegistry.load(directory: hfDir.path)
        }
    }

    @Test func suppressedIDsOutsideTheVocabularyAreRefused() throws {
        for (key, value) in [("suppress_ids", [1, 96]), ("suppress_ids_begin", [-1]), ("suppress_ids", [Int.max])] {
            let dir = try ct2()
            let config = dir.appendingPathComponent("config.json")
            try editJSON(config) { $0[key] = value }
            expectError(dir, .invalidConfig(path: config.path, reason: "'\(key)' must be a list of token ids below 96"),
                        naming: [key, "config.json"])
        }
        let notAList = try ct2()
        try editJSON(notAList.appendingPathComponent("config.json")) { $0["suppress_ids"] = "1, 2" }
        expectError(notAList, .invalidConfig(path: notAList.appendingPathComponent("config.json").path,
                                             reason: "'suppress_ids' must be a list of token ids below 96"), naming: ["suppress_ids"])
        let hfDir = try hf { try editJSON($0.appendingPathComponent("generation_config.json")) { $0["suppress_tokens"] = [50000] } }
        expectError(hfDir, .invalidConfig(path: hfDir.appendingPathComponent("generation_config.json").path,
                                          reason: "'suppress_tokens' must be a list of token ids below 96"),
                    naming: ["suppress_tokens", "generation_config.json"])
    }

    @Test func headCountsThatDoNotDivideTheWidthAreRefused() throws {
        for (name, value) in [("encoder/num_heads", 3), ("decoder/num_heads", 5), ("decoder/num_heads", 0)] {
            let dir = try ct2 { Self.replacingScalar(name, value, in: &$0) }
            defer { try? FileManager.default.removeItem(at: dir) }
            guard case .invalidConfig(let path, let reason) = loadError(dir) else { Issue.record("\(name) = \(value) loaded"); continue }
            #expect(path == dir.path)
            #expect(reason.contains(value == 0 ? "positive" : "not divisible by the head count"), "\(reason)")
        }
        let hfDir = try hf { try editJSON($0.appendingPathComponent("config.json")) { $0["decoder_attention_heads"] = 6 } }
        guard case .invalidConfig(_, let reason) = loadError(hfDir) else { Issue.record("6 heads of 64 loaded"); return }
        #expect(reason.contains("divisible"))
        try? FileManager.default.removeItem(at: hfDir)
    }

    @Test(arguments: [("decoder/pre_norm", 0, 1), ("decoder/activation", 1, 3), ("decoder/activation", 2, 3),
                      ("decoder/scale_embeddings", 1, 0), ("decoder/alibi", 1, 0)])
    func architectureScalarsOtherThanWhispersAreRefused(_ name: String, _ value: Int, _ needed: Int) throws {
        let dir = try ct2 { Self.replacingScalar(name, value, in: &$0) }
        expectError(dir, .invalidConfig(path: dir.appendingPathComponent("model.bin").path,
                                        reason: "'\(name)' is \(value); Whisper needs \(needed)"), naming: [name])
    }

    @Test func otherCTranslate2SpecsAreRefused() throws {
        let dir = Synthetic.scratchDirectory("whisper-spec")
        try Self.model.writeCTranslate2(to: dir)
        try CTranslate2Writer.write(to: dir.appendingPathComponent("model.bin").path, specName: "TransformerSpec",
                                    entries: Self.model.ctranslate2Entries)
        expectError(dir, .unsupportedModelType(path: dir.appendingPathComponent("model.bin").path, modelType: "TransformerSpec",
                                               supported: ["WhisperSpec"]), naming: ["TransformerSpec"])
    }

    @Test func huggingFaceProblemsAreNamed() throws {
        let wrongType = try hf { try editJSON($0.appendingPathComponent("config.json")) { $0["model_type"] = "whisper_x" } }
        #expect(throws: ModelError.unsupportedModelType(path: wrongType.path, modelType: "whisper_x",
                                                       supported: ModelFamily.configModelTypes)) {
            _ = try ModelRegistry.load(directory: wrongType.path)
        }
        expectError(wrongType, .unsupportedModelType(path: wrongType.path, modelType: "whisper_x", supported: ["whisper"]),
                    naming: ["whisper_x"])

        let noWeights = try hf { try FileManager.default.removeItem(at: $0.appendingPathComponent("model.safetensors")) }
        expectError(noWeights, .weights(.fileNotFound(path: "\(noWeights.path)/{model.safetensors,model.safetensors.index.json}")),
                    naming: ["model.safetensors"])

        let noWidth = try hf { try editJSON($0.appendingPathComponent("config.json")) { $0.removeValue(forKey: "d_model") } }
        guard case .invalidConfig(_, let reason) = loadError(noWidth) else { Issue.record("loaded without d_model"); return }
        #expect(reason.contains("d_model"))
        try? FileManager.default.removeItem(at: noWidth)

        // A checkpoint missing one tensor, and one with a key bias Whisper does not have.
        let name = "model.encoder.layers.1.fc2.bias"
        let f = Synthetic.scratchDirectory("whisper-hf-tensors")
        var tensors = WhisperLayoutConversion.huggingFace(Self.model.tensors.map { ($0.name, $0.shape, $0.values) }, modelDim: 64)
        try Self.model.writeHuggingFace(to: f)
        tensors.removeAll { $0.name == name }
        try SafeTensorsWriter.write(path: f.appendingPathComponent("model.safetensors").path, floats: tensors)
        expectError(f, .missingTensor(name: name), naming: [name])
        let g = Synthetic.scratchDirectory("whisper-hf-tensors")
        try Self.model.writeHuggingFace(to: g)
        let keyBias = "model.decoder.layers.0.encoder_attn.k_proj.bias"
        tensors.append((name, [64], [Float](repeating: 0, count: 64)))
        tensors.append((keyBias, [64], [Float](repeating: 0, count: 64)))
        try SafeTensorsWriter.write(path: g.appendingPathComponent("model.safetensors").path, floats: tensors)
        expectError(g, .unexpectedTensor(name: keyBias), naming: [keyBias])

        // An integer tensor where floats belong.
        let h = Synthetic.scratchDirectory("whisper-hf-tensors")
        try Self.model.writeHuggingFace(to: h)
        tensors.removeAll { $0.name == keyBias }
        let fc1 = "model.decoder.layers.1.fc1.weight"
        let entries = tensors.map { SafeTensorsWriter.Entry(name: $0.name, dtype: $0.name == fc1 ? .i32 : .f32, shape: $0.shape) }
        try SafeTensorsWriter.write(path: h.appendingPathComponent("model.safetensors").path, entries: entries) { _, _ in }
        expectError(h, .unsupportedDType(tensor: fc1, dtype: "I32"), naming: [fc1, "I32"])
    }

    @Test func unreadableFilesAreTypedErrors() throws {
        // model.bin that is a directory.
        let dir = Synthetic.scratchDirectory("whisper-bad")
        try Self.model.writeCTranslate2(to: dir)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model.bin"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("model.bin"), withIntermediateDirectories: false)
        let error = loadError(dir)
        guard case .ctranslate2 = error else { Issue.record("\(String(describing: error))"); return }
        #expect(error!.description.contains("model.bin"))
        try? FileManager.default.removeItem(at: dir)
        // vocabulary.txt that is a directory.
        let vocab = try ct2()
        try FileManager.default.removeItem(at: vocab.appendingPathComponent("vocabulary.txt"))
        try FileManager.default.createDirectory(at: vocab.appendingPathComponent("vocabulary.txt"), withIntermediateDirectories: false)
        expectError(vocab, .tokenizer("\(vocab.path)/vocabulary.txt: cannot be read"), naming: ["vocabulary.txt"])
    }
}
