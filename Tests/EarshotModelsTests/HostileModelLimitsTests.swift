#if canImport(Glibc)
import Glibc
#endif
import EarshotTensor
import EarshotTestSupport
import EarshotTokenizer
import Foundation
import Testing
@testable import EarshotModels

/// Sizes from a model directory are bounded before they are used: a hostile config, tokenizer or
/// weight file is a typed error, and the resident set never rises by much while refusing it
/// (a config claiming 10^6 layers used to peak at 2.1 GB before being refused).
@Suite(.serialized) struct HostileModelLimitsTests {
    /// Far below what the hostile cases used to cost, above the tiny model's tokenizer tables.
    static let peakLimit = 96 << 20

    /// A scratch copy of the tiny model: big files linked, small ones copied.
    func tinyCopy() throws -> URL { try Fixtures.scratchCopyOfQwenTinyModel(prefix: "hostile") }

    func editConfig(_ dir: URL, _ edit: (inout [String: Any], inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent("config.json")
        var obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var thinker = obj["thinker_config"] as! [String: Any]
        var text = thinker["text_config"] as! [String: Any], audio = thinker["audio_config"] as! [String: Any]
        edit(&text, &audio)
        thinker["text_config"] = text
        thinker["audio_config"] = audio
        obj["thinker_config"] = thinker
        try JSONSerialization.data(withJSONObject: obj).write(to: url)
    }

    func replace(_ dir: URL, _ name: String, with bytes: [UInt8]) throws {
        let url = dir.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: url)
        try Data(bytes).write(to: url)
    }

    /// Loads `dir` (estimate first, as the manager does, then the model) expecting a refusal;
    /// returns both errors and checks the peak rise and that nothing stays mapped.
    @discardableResult
    func refused(_ dir: URL, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> (estimate: ModelError?, load: ModelError?) {
        defer { try? FileManager.default.removeItem(at: dir) }
        let mapped = MemoryCounters.anonymousBytes + MemoryCounters.fileBytes
        let (errors, peak) = PeakMemory.rise { () -> (ModelError?, ModelError?) in
            var e1: ModelError?, e2: ModelError?
            do throws(ModelError) { _ = try ModelRegistry.estimate(directory: dir.path) } catch { e1 = error }
            do throws(ModelError) { try ModelRegistry.load(directory: dir.path).close() } catch { e2 = error }
            return (e1, e2)
        }
        print("hostile model \(what): peak rise \(PeakMemory.mb(peak)); load: \(errors.1.map { "\($0)" } ?? "loaded")")
        #expect(errors.1 != nil, "\(what) loaded", sourceLocation: sourceLocation)
        if let peak { #expect(peak < Self.peakLimit, "\(what): peak rose by \(PeakMemory.mb(peak))", sourceLocation: sourceLocation) }
        #expect(MemoryCounters.anonymousBytes + MemoryCounters.fileBytes == mapped, "\(what) left memory mapped",
                sourceLocation: sourceLocation)
        return errors
    }

    @Test func tableCountMatchesTheTable() throws {
        let config = try Qwen3ASRConfig.load(path: Fixtures.qwenTinyModel.appendingPathComponent("config.json").path)
        #expect(Qwen3ASRWeights.tableCount(config) == Qwen3ASRWeights.table(config).entries.count)
    }

    /// Layer counts far beyond the checkpoint are refused from the tensor count, before the weight
    /// table is built: both by the estimate the manager makes first and by the load.
    @Test(arguments: [("num_hidden_layers", 1_000_000), ("encoder_layers", 1_000_000), ("num_hidden_layers", (1 << 24) - 1)])
    func layerCountsBeyondTheCheckpointAreRefusedSmall(_ key: String, _ value: Int) throws {
        let dir = try tinyCopy()
        try editConfig(dir) { text, audio in
            if key == "encoder_layers" { audio[key] = value } else { text[key] = value }
        }
        let (estimate, load) = refused(dir, "\(key) = \(value)")
        for error in [estimate, load] {
            guard case .invalidConfig(let path, let reason) = error else { Issue.record("\(String(describing: error))"); continue }
            #expect(path.hasSuffix("config.json"))
            #expect(reason.contains("\(key) \(value)") && reason.contains("but the weights hold"), "\(reason)")
        }
    }

    /// Widths that are in range but not the checkpoint's are shape errors before anything is sized
    /// by them; out-of-range, zero and negative sizes are config errors naming the field.
    @Test func hostileWidthsAreRefusedSmall() throws {
        let cases: [(String, Int, Bool)] = [("hidden_size", 1_000_000_000, false), ("hidden_size", 1 << 23, true),
                                            ("hidden_size", 0, false), ("num_hidden_layers", -5, false),
                                            ("intermediate_size", (1 << 24) - 1, true), ("vocab_size", (1 << 24) - 1, true),
                                            ("max_position_embeddings", -1, false), ("n_window", 4_000_000, false),
                                            ("n_window_infer", 8_000_000, false)]
        for (key, value, shapeError) in cases {
            let dir = try tinyCopy()
            try editConfig(dir) { text, audio in
                if key.hasPrefix("n_window") { audio[key] = value } else { text[key] = value }
                if key == "hidden_size" { audio["output_dim"] = value }
            }
            let load = refused(dir, "\(key) = \(value)").load
            if shapeError {
                guard case .shapeMismatch = load else { Issue.record("\(key) = \(value): \(String(describing: load))"); continue }
            } else {
                guard case .invalidConfig(_, let reason) = load else { Issue.record("\(key) = \(value): \(String(describing: load))"); continue }
                #expect(reason.contains("out of range"), "\(reason)")
            }
        }
    }

    /// Products of sizes at the edge of the range neither trap nor allocate: heads x head_dim
    /// overflows no arithmetic in the estimate.
    @Test func sizeProductsDoNotOverflow() throws {
        let dir = try tinyCopy()
        let big = (1 << 24) - 2
        try editConfig(dir) { text, audio in
            text["num_attention_heads"] = big; text["num_key_value_heads"] = big; text["head_dim"] = big
            text["hidden_size"] = big + 1; audio["output_dim"] = big + 1
        }
        let (estimate, load) = refused(dir, "heads x head_dim ~ 2^48")
        for error in [estimate, load] {
            guard case .shapeMismatch = error else { Issue.record("\(String(describing: error))"); continue }
        }
        let saturated = MemoryEstimate(weightBytes: .max / 2, overheadBytes: .max / 2, sessionBytes: .max / 4)
        #expect(saturated.total(sessions: 8) == .max)
    }

    /// A vocabulary whose one id is 2^24 - 1 used to size the id tables at ~450 MB and load.
    @Test func sparseTokenIDsAreRefusedSmall() throws {
        let dir = try tinyCopy()
        try replace(dir, "vocab.json", with: Array("{\"a\": 16777215}".utf8))
        try replace(dir, "merges.txt", with: Array("#version: 0.2\n".utf8))
        guard case .tokenizer(let message) = refused(dir, "vocab.json with id 16777215").load else { Issue.record("not a tokenizer error"); return }
        #expect(message.contains("16777215") && message.contains("vocab.json"), "\(message)")
        // The same through the in-memory entry point (GGUF-embedded files), and as an added token.
        #expect(throws: TokenizerError.self) {
            _ = try Qwen2Tokenizer(vocab: Array("{\"a\": 0, \"b\": 9000000}".utf8), merges: [], config: nil, origin: "x")
        }
        let addedFar = Array("{\"added_tokens_decoder\": {\"16000000\": {\"content\": \"<x>\", \"special\": true}}}".utf8)
        #expect(throws: TokenizerError.self) {
            _ = try Qwen2Tokenizer(vocab: Array("{\"a\": 0}".utf8), merges: [], config: addedFar, origin: "x")
        }
    }

    /// A vocabulary of 1.2 million tokens (14 MB; 4 million in 63 MB used to peak at 465 MB and
    /// load) is refused from its entry count before it is parsed.
    @Test func vocabularyEntryCountIsBoundedBeforeParsing() throws {
        let dir = try tinyCopy()
        let vocab = "{" + (0..<1_200_000).map { "\"t\($0)\":\($0)" }.joined(separator: ",") + "}"
        try replace(dir, "vocab.json", with: Array(vocab.utf8))
        guard case .tokenizer(let message) = refused(dir, "vocab.json of 1.2M tokens").load else { Issue.record("loaded"); return }
        #expect(message.contains("more than 1048576 vocabulary entries"), "\(message)")
    }

    /// Whisper's vocabulary files: 3 million empty lines (3 MB; each would become a string) and a
    /// sparse tokenizer.json are refused before a table is built.
    @Test func whisperVocabularyCountsAreBounded() throws {
        let lines = SyntheticWhisper.scratchDirectory("hostile-whisper")
        try SyntheticWhisper().writeCTranslate2(to: lines)
        try replace(lines, "vocabulary.txt", with: [UInt8](repeating: 0x0A, count: 3_000_000))
        guard case .tokenizer(let m) = refused(lines, "Whisper vocabulary.txt of 3M lines").load else { Issue.record("loaded"); return }
        #expect(m.contains("more than 2097152 entries"), "\(m)")
        let sparse = SyntheticWhisper.scratchDirectory("hostile-whisper")
        try SyntheticWhisper().writeCTranslate2(to: sparse)
        try FileManager.default.removeItem(at: sparse.appendingPathComponent("vocabulary.txt"))
        try replace(sparse, "tokenizer.json", with: Array(#"{"model": {"vocab": {"a": 0, "b": 1000000}}}"#.utf8))
        guard case .tokenizer(let s) = refused(sparse, "Whisper tokenizer.json with id 10^6").load else { Issue.record("loaded"); return }
        #expect(s.contains("token ids out of range"), "\(s)")
    }

    /// 100,000 nested brackets in each JSON file of a model: a typed error, no stack overflow.
    static let nested = Array(repeating: UInt8(ascii: "["), count: 100_000) + Array(repeating: UInt8(ascii: "]"), count: 100_000)

    @Test(arguments: ["config.json", "vocab.json", "tokenizer_config.json", "preprocessor_config.json"])
    func deeplyNestedJSONIsRefused(_ name: String) throws {
        let dir = try tinyCopy()
        try replace(dir, name, with: Self.nested)
        refused(dir, "\(name) of 100,000 nested brackets")
    }

    /// generation_config.json is optional: one that is not an object is ignored (default end
    /// tokens), and reading it does not overflow the stack.
    @Test func deeplyNestedGenerationConfigIsIgnored() throws {
        let dir = try tinyCopy()
        defer { try? FileManager.default.removeItem(at: dir) }
        try replace(dir, "generation_config.json", with: Self.nested)
        let m = try Qwen3ASRModel(directory: dir.path)
        #expect(m.eosIDs == Qwen3ASRModel.defaultEOS)
        m.close()
    }

    /// A config or vocabulary that is a FIFO, a device or larger than its limit is refused before
    /// a byte is read (a FIFO used to be reported as missing, and `/dev/zero` read until failure).
    @Test func specialAndOversizedFilesAreRefusedWithoutReading() throws {
        for name in ["config.json", "vocab.json", "preprocessor_config.json"] {
            let fifo = try tinyCopy()
            try FileManager.default.removeItem(at: fifo.appendingPathComponent(name))
            #expect(mkfifo(fifo.appendingPathComponent(name).path, 0o600) == 0)
            let load = refused(fifo, "\(name) as a FIFO").load
            #expect("\(String(describing: load))".contains("not a regular file"), "\(String(describing: load))")

            let zero = try tinyCopy()
            try FileManager.default.removeItem(at: zero.appendingPathComponent(name))
            try FileManager.default.createSymbolicLink(atPath: zero.appendingPathComponent(name).path, withDestinationPath: "/dev/zero")
            let zeroLoad = refused(zero, "\(name) -> /dev/zero").load
            #expect("\(String(describing: zeroLoad))".contains("not a regular file"), "\(String(describing: zeroLoad))")
        }
        // A sparse 17 MB config.json: refused by its size, nothing read.
        let big = try tinyCopy()
        let config = big.appendingPathComponent("config.json")
        #expect(truncate(config.path, off_t(SmallFile.configLimit + 1)) == 0)
        #expect(refused(big, "17 MB config.json").load == .fileTooLarge(path: config.path, bytes: SmallFile.configLimit + 1,
                                                                            limit: SmallFile.configLimit))
    }

    /// A safetensors header length of 2^63 and overlapping tensors: typed errors, nothing allocated.
    @Test func hostileSafetensorsHeadersAreRefusedSmall() throws {
        let dir = try tinyCopy()
        let path = dir.appendingPathComponent("model.safetensors")
        try FileManager.default.removeItem(at: path)
        var header = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: (UInt64(1) << 63).littleEndian) { header.replaceSubrange(0..<8, with: $0) }
        try Data(header).write(to: path)
        guard case .weights(.headerTooLarge) = refused(dir, "safetensors header length 2^63").load else {
            Issue.record("2^63 header not refused as too large"); return
        }
        let overlap = try tinyCopy()
        let json = #"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}"#
        var bytes = [UInt8](repeating: 0, count: 8) + Array(json.utf8)
        withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        bytes += [UInt8](repeating: 0, count: 24)
        try FileManager.default.removeItem(at: overlap.appendingPathComponent("model.safetensors"))
        try Data(bytes).write(to: overlap.appendingPathComponent("model.safetensors"))
        guard case .weights(.overlap) = refused(overlap, "overlapping safetensors").load else {
            Issue.record("overlapping tensors not refused"); return
        }
        // A 20 MB header of a million tiny entries (JSONSerialization peaked at 4 GB on 60 MB of them):
        // refused from its object count before it is parsed.
        let many = try tinyCopy()
        var manyHeader = "{" + (0..<1_000_000).map { "\"t\($0)\":{}" }.joined(separator: ",") + "}"
        manyHeader += String(repeating: " ", count: (8 - manyHeader.utf8.count % 8) % 8)
        var manyBytes = [UInt8](repeating: 0, count: 8) + Array(manyHeader.utf8)
        withUnsafeBytes(of: UInt64(manyHeader.utf8.count).littleEndian) { manyBytes.replaceSubrange(0..<8, with: $0) }
        try FileManager.default.removeItem(at: many.appendingPathComponent("model.safetensors"))
        try Data(manyBytes).write(to: many.appendingPathComponent("model.safetensors"))
        guard case .weights(.malformedHeader(_, let reason)) = refused(many, "safetensors header of 10^6 entries").load else {
            Issue.record("a million entries not refused"); return
        }
        #expect(reason.contains("65536 tensors"), "\(reason)")
    }

    /// A GGUF file of one metadata array of 8 million one-byte values (each decoded value costs
    /// tens of bytes: it peaked at 228 MB) is refused by the metadata value budget.
    @Test func ggufMetadataValueFloodIsRefusedSmall() throws {
        let n = (1 << 23) - 2
        var bytes = Array("GGUF".utf8)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        put(UInt32(3)); put(UInt64(0)); put(UInt64(1))
        put(UInt64(1)); bytes += Array("x".utf8); put(UInt32(9))   // key "x": array
        put(UInt32(0)); put(UInt64(n))                             // of uint8, n elements
        bytes += [UInt8](repeating: 0, count: n)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("values-\(UUID()).gguf")
        try Data(bytes).write(to: path)
        guard case .container(.countTooLarge) = refused(path, "GGUF of 8M metadata values").load else {
            Issue.record("8M metadata values not refused"); return
        }
    }

    /// Every model file cut at each of its sections is a typed error (or, for a cut that leaves
    /// valid JSON, a config error), never a crash, with a small peak.
    @Test func truncatedModelFilesAreTypedErrorsAtEverySection() throws {
        // safetensors: inside the length, the header, at the data start, inside the data, one byte short.
        let whole = try Data(contentsOf: Fixtures.qwenTinyModel.appendingPathComponent("model.safetensors"))
        let headerLength = Int(whole.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        for cut in [0, 4, 8, 8 + headerLength / 2, 8 + headerLength, 8 + headerLength + 1000, whole.count / 2, whole.count - 1] {
            let dir = try tinyCopy()
            let path = dir.appendingPathComponent("model.safetensors")
            try FileManager.default.removeItem(at: path)
            try whole.prefix(cut).write(to: path)
            guard case .weights = refused(dir, "model.safetensors cut at \(cut)").load else { Issue.record("cut at \(cut)"); continue }
        }
        // The JSON files, cut in half.
        for name in ["config.json", "vocab.json", "tokenizer_config.json", "preprocessor_config.json"] {
            let dir = try tinyCopy()
            let bytes = try Data(contentsOf: Fixtures.qwenTinyModel.appendingPathComponent(name))
            try replace(dir, name, with: Array(bytes.prefix(bytes.count / 2)))
            refused(dir, "\(name) cut in half")
        }
        // A converted GGUF file cut inside the header, the metadata (embedded files), the tensor
        // infos, the data, and one byte short.
        let gguf = try GGUFModelTests.converted(.q8)
        let file = try GGUFFile(path: gguf)
        let dataOffset = file.dataOffset, size = file.storage.byteCount
        file.close()
        let ggufBytes = try Data(contentsOf: URL(fileURLWithPath: gguf))
        for cut in [0, 3, 10, 30, dataOffset / 3, dataOffset - 40, dataOffset + 100, size / 2, size - 1] {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("cut-\(UUID()).gguf")
            try ggufBytes.prefix(cut).write(to: path)
            guard case .container = refused(path, "GGUF cut at \(cut) of \(size)").load else { Issue.record("GGUF cut at \(cut)"); continue }
        }
    }
}
