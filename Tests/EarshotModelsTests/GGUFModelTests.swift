import EarshotTensor
import EarshotTestSupport
import EarshotTokenizer
import Foundation
import Testing
@testable import EarshotModels

/// `earshot convert`'s GGUF files: they load with zero copies wherever a directory is accepted,
/// give the same numbers as quantizing at load, and hostile files are typed errors.
@Suite(.serialized) struct GGUFModelTests {
    static let dir: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-model-\(UUID())")
        try! FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()

    static func converted(_ quant: WeightPrecision) throws -> String {
        let path = dir.appendingPathComponent("tiny-\(quant.rawValue).gguf").path
        if !FileManager.default.fileExists(atPath: path) {
            try ModelConverter.convert(directory: Fixtures.qwenTinyModel.path, to: path, quant: quant)
        }
        return path
    }

    /// First logits of the golden "fox" prompt (golden audio embeddings).
    static func firstLogits(_ model: Qwen3ASRModel) throws -> [Float] {
        let golden = try SafeTensorsFile(path: Fixtures.qwenTinyGolden("fox").path)
        let embeds = try golden.tensor("audio_embeds")
        let prompt = try model.promptTokens(context: "", language: nil, audioTokens: embeds.shape[0])
        let state = try model.makeState(maxTokens: prompt.count + 4)
        defer { state.close() }
        try model.prefill(tokens: prompt, audio: embeds.floatArray(), audioCount: embeds.shape[0], state: state)
        return Array(UnsafeBufferPointer(start: state.logitsPointer, count: model.config.thinkerConfig.textConfig.vocabSize))
    }

    @Test(arguments: [WeightPrecision.q8, .q4])
    func convertedFileMatchesQuantizingAtLoadWithZeroCopies(_ quant: WeightPrecision) throws {
        let path = try Self.converted(quant)
        #expect(try ModelRegistry.family(of: path) == .qwen3ASR)
        let fromFile = try Qwen3ASRModel(directory: path)
        let atLoad = try Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path, precision: quant)
        defer { fromFile.close(); atLoad.close() }
        // Zero copies: quantized blocks are read from the file mapping; nothing was quantized at load.
        #expect(fromFile.store.quantized == nil)
        guard case .quantized(let p, let format) = fromFile.weights.decoderLayers[1].down.storage else {
            Issue.record("down_proj is not quantized")
            return
        }
        #expect(format == quant.quantFormat)
        let base = Int(bitPattern: fromFile.store.file.mappedBytes > 0 ? (fromFile.store.file as! GGUFFile).storage.raw : nil)
        #expect(Int(bitPattern: p) >= base && Int(bitPattern: p) < base + fromFile.store.file.mappedBytes)
        // The same quantizer: identical logits, bit for bit.
        #expect(try Self.firstLogits(fromFile) == (try Self.firstLogits(atLoad)))
        #expect(fromFile.tokenizer.encode("hello world") == atLoad.tokenizer.encode("hello world"))
        #expect(fromFile.eosIDs == atLoad.eosIDs && fromFile.features == atLoad.features)
    }

    @Test func bf16FileGivesTheDirectorysLogits() throws {
        let model = try Qwen3ASRModel(directory: try Self.converted(.inPlace))
        let original = try Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path)
        defer { model.close(); original.close() }
        #expect(try Self.firstLogits(model) == (try Self.firstLogits(original)))
    }

    @Test func loadingAndClosingLeavesNothingMapped() throws {
        let path = try Self.converted(.q8)
        let mapped = MemoryCounters.anonymousBytes + MemoryCounters.fileBytes
        func openFiles() throws -> Set<String> {
            Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").map {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) ?? $0
            })
        }
        let fds = try openFiles()
        for _ in 0..<20 {
            let m = try Qwen3ASRModel(directory: path)
            m.close()
        }
        #expect(MemoryCounters.anonymousBytes + MemoryCounters.fileBytes == mapped)
        let after = try openFiles()
        #expect(after.subtracting(fds).filter { $0.contains("gguf") }.isEmpty, "still open: \(after.subtracting(fds))")
    }

    /// Rewrites the q8 file with one change (metadata dropped or a tensor's type changed).
    static func variant(dropKey: String? = nil, retype: (name: String, type: GGMLType)? = nil) throws -> String {
        let source = try GGUFFile(path: try converted(.q8))
        defer { source.close() }
        let out = dir.appendingPathComponent("variant-\(UUID()).gguf").path
        let metadata = source.metadataKeys.filter { $0 != dropKey && $0 != "general.alignment" }.map { ($0, source.metadata[$0]!) }
        let decls = source.tensors.map { t in
            GGUFTensorDeclaration(name: t.name, shape: t.shape, type: t.name == retype?.name ? retype!.type : t.type)
        }
        let writer = try GGUFWriter(path: out, metadata: metadata, tensors: decls)
        for (t, d) in zip(source.tensors, decls) {
            let bytes = try source.data(of: t)
            let need = try d.type.byteCount(elements: t.elementCount)
            var copy = [UInt8](repeating: 0, count: need)
            copy.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix(need))) }
            try copy.withUnsafeBytes { try writer.append($0) }
        }
        try writer.finish()
        return out
    }

    @Test func hostileFilesAreTypedErrorsNamingTheProblem() throws {
        let loaded = try Qwen3ASRModel(directory: try Self.converted(.q8))
        defer { loaded.close() }
        let mapped = MemoryCounters.anonymousBytes + MemoryCounters.fileBytes

        // A norm stored as q8_0: only quantizable matrices may be.
        let norm = "thinker.model.layers.0.input_layernorm.weight"
        #expect { _ = try Qwen3ASRModel(directory: try Self.variant(retype: (norm, .q8_0))) } throws: {
            guard case ModelError.unsupportedDType(let t, _) = $0 else { return false }
            return t == norm
        }
        // An encoder matrix stored quantized loads (`convert --quantize-encoder` writes such files);
        // an encoder bias does not.
        let fc1 = "thinker.audio_tower.layers.0.fc1.weight"
        let quantizedEncoder = try Qwen3ASRModel(directory: try Self.variant(retype: (fc1, .q8_0)))
        quantizedEncoder.close()
        let fc1Bias = "thinker.audio_tower.layers.0.fc1.bias"
        #expect { _ = try Qwen3ASRModel(directory: try Self.variant(retype: (fc1Bias, .q8_0))) } throws: {
            guard case ModelError.unsupportedDType(let t, _) = $0 else { return false }
            return t == fc1Bias
        }
        // No embedded config.
        #expect { _ = try Qwen3ASRModel(directory: try Self.variant(dropKey: "earshot.file.config.json")) } throws: {
            guard case ModelError.notAModelDirectory = $0 else { return false }
            return true
        }
        // Truncated: the container reader refuses it.
        let whole = try Data(contentsOf: URL(fileURLWithPath: try Self.converted(.q8)))
        let cut = Self.dir.appendingPathComponent("cut.gguf")
        try whole.prefix(whole.count * 2 / 3).write(to: cut)
        #expect { _ = try Qwen3ASRModel(directory: cut.path) } throws: {
            guard case ModelError.container = $0 else { return false }
            return true
        }
        // Nothing leaked, and the model loaded before still works.
        #expect(MemoryCounters.anonymousBytes + MemoryCounters.fileBytes == mapped)
        #expect(try Self.firstLogits(loaded).allSatisfy(\.isFinite))
    }
}
