import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotModels

/// Loading published directories strictly: wrong configs and bad checkpoints are typed errors
/// naming the problem.
struct Qwen3ASRLoadingTests {
    /// A scratch copy of the tiny model whose files a test may replace.
    func copyOfTinyModel() throws -> URL { try Fixtures.scratchCopyOfQwenTinyModel(prefix: "qwen") }

    func editConfig(_ dir: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent("config.json")
        var obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&obj)
        try JSONSerialization.data(withJSONObject: obj).write(to: url)
    }

    @Test func loadsThePublishedLayoutAndReadsNumbersFromConfig() throws {
        let m = try Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path)
        #expect(m.config.thinkerConfig.audioConfig.dModel == 64)
        #expect(m.config.thinkerConfig.textConfig.numKeyValueHeads == 2)
        #expect(m.eosIDs == [151645, 151643])
        #expect(try ModelRegistry.family(of: Fixtures.qwenTinyModel.path) == .qwen3ASR)
        // Weights are used in place: only small parameters are copied out of the mapping.
        #expect(m.store.arena.byteCount < m.store.file.mappedBytes / 10)
        m.close()
    }

    @Test func audioTokenCountsFollowTheSpecTable() throws {
        let m = try Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path)
        defer { m.close() }
        let table = [50: 7, 100: 13, 500: 65, 800: 104, 1000: 130, 1100: 143, 3000: 390, 6000: 780, 120_000: 15600, 1244: 162, 30: 4]
        for (frames, tokens) in table { #expect(m.audioTokenCount(frames: frames) == tokens, "T=\(frames)") }
    }

    @Test func wrongModelTypeIsRefused() throws {
        let dir = try copyOfTinyModel()
        try editConfig(dir) { $0["model_type"] = "whisper_x" }
        #expect(throws: ModelError.unsupportedModelType(path: dir.path, modelType: "whisper_x", supported: ["qwen3_asr", "whisper"])) {
            _ = try ModelRegistry.load(directory: dir.path)
        }
    }

    @Test func missingAndInconsistentConfigFieldsAreNamed() throws {
        let dir = try copyOfTinyModel()
        try editConfig(dir) { obj in
            var t = obj["thinker_config"] as! [String: Any]
            var a = t["audio_config"] as! [String: Any]
            a.removeValue(forKey: "n_window")
            t["audio_config"] = a
            obj["thinker_config"] = t
        }
        do {
            _ = try Qwen3ASRModel(directory: dir.path)
            Issue.record("accepted a config without n_window")
        } catch {
            #expect("\(error)".contains("n_window"))
        }
        let dir2 = try copyOfTinyModel()
        try editConfig(dir2) { obj in
            var t = obj["thinker_config"] as! [String: Any]
            var text = t["text_config"] as! [String: Any]
            text["num_key_value_heads"] = 3
            t["text_config"] = text
            obj["thinker_config"] = t
        }
        do {
            _ = try Qwen3ASRModel(directory: dir2.path)
            Issue.record("accepted 4 heads over 3 kv heads")
        } catch {
            #expect("\(error)".contains("num_key_value_heads"))
        }
    }

    @Test func missingExtraAndMisshapedTensorsAreNamed() throws {
        let source = try SafeTensorsFile(path: Fixtures.qwenTinyModel.appendingPathComponent("model.safetensors").path)
        func rewrite(_ dir: URL, drop: String? = nil, add: String? = nil, reshape: String? = nil) throws {
            var entries = source.names.filter { $0 != drop }.map { name -> SafeTensorsWriter.Entry in
                let e = source.entries[name]!
                return .init(name: name, dtype: e.dtype, shape: name == reshape ? [e.shape.reduce(1, *)] : e.shape)
            }
            if let add { entries.append(.init(name: add, dtype: .bf16, shape: [2])) }
            let path = dir.appendingPathComponent("model.safetensors")
            try FileManager.default.removeItem(at: path)
            try SafeTensorsWriter.write(path: path.path, entries: entries) { e, dst in
                if let t = try? source.tensor(e.name) { dst.copyMemory(from: UnsafeRawBufferPointer(start: t.data, count: t.byteCount)) }
            }
        }
        let name = "thinker.model.layers.1.self_attn.k_norm.weight"
        let d1 = try copyOfTinyModel()
        try rewrite(d1, drop: name)
        #expect(throws: ModelError.missingTensor(name: name)) { _ = try Qwen3ASRModel(directory: d1.path) }
        let d2 = try copyOfTinyModel()
        try rewrite(d2, add: "thinker.model.layers.9.mystery.weight")
        #expect(throws: ModelError.unexpectedTensor(name: "thinker.model.layers.9.mystery.weight")) {
            _ = try Qwen3ASRModel(directory: d2.path)
        }
        let d3 = try copyOfTinyModel()
        let conv = "thinker.audio_tower.conv_out.weight"
        try rewrite(d3, reshape: conv)
        #expect(throws: ModelError.shapeMismatch(tensor: conv, expected: [64, 256], actual: [64 * 256])) {
            _ = try Qwen3ASRModel(directory: d3.path)
        }
    }

    @Test func preprocessorConfigMustAgreeWithTheEncoder() throws {
        let dir = try copyOfTinyModel()
        let url = dir.appendingPathComponent("preprocessor_config.json")
        var obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        obj["feature_size"] = 80
        try JSONSerialization.data(withJSONObject: obj).write(to: url)
        do {
            _ = try Qwen3ASRModel(directory: dir.path)
            Issue.record("accepted 80 feature bins for a 128-bin encoder")
        } catch {
            #expect("\(error)".contains("feature_size 80"))
        }
    }

    @Test func truncatedCheckpointIsATypedError() throws {
        let dir = try copyOfTinyModel()
        let path = dir.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: path).prefix(1_000_000)
        try FileManager.default.removeItem(at: path)
        try bytes.write(to: path)
        do {
            _ = try Qwen3ASRModel(directory: dir.path)
            Issue.record("accepted a truncated checkpoint")
        } catch {
            guard case .weights = error else { Issue.record("unexpected \(error)"); return }
        }
    }

    @Test func outputParsingFollowsTheOfficialRules() {
        #expect(Qwen3ASROutput.parse("language English<asr_text>Hello there.", forcedLanguage: nil) == ("English", "Hello there."))
        #expect(Qwen3ASROutput.parse("language None<asr_text>", forcedLanguage: nil) == ("", ""))
        #expect(Qwen3ASROutput.parse("  ", forcedLanguage: nil) == ("", ""))
        #expect(Qwen3ASROutput.parse("no separator", forcedLanguage: nil) == ("", "no separator"))
        #expect(Qwen3ASROutput.parse("Bonjour", forcedLanguage: "French") == ("French", "Bonjour"))
        #expect(Qwen3ASROutput.fixRepetitions(String(repeating: "a", count: 30) + "b", threshold: 20) == "ab")
        // 20 in a row is not a character run (> 20) but is a 1-character pattern repeated 20 times.
        #expect(Qwen3ASROutput.fixRepetitions(String(repeating: "a", count: 20) + "b", threshold: 20) == "ab")
        #expect(Qwen3ASROutput.fixRepetitions(String(repeating: "a", count: 19) + "b", threshold: 20) == String(repeating: "a", count: 19) + "b")
        #expect(Qwen3ASROutput.fixRepetitions("x" + String(repeating: "I think. ", count: 25) + "end", threshold: 20) == "xI think. end")
    }

    @Test func languagesNormaliseOrAreRejected() {
        #expect(Qwen3ASRPrompt.normalizeLanguage("english") == "English")
        #expect(Qwen3ASRPrompt.normalizeLanguage(" CHINESE ") == "Chinese")
        #expect(Qwen3ASRPrompt.normalizeLanguage("Klingon") == nil)
        #expect(Qwen3ASRPrompt.normalizeLanguage("") == nil)
    }
}
