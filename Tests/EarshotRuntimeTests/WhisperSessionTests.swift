import EarshotAudio
import EarshotModels
import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotRuntime

/// Synthetic Whisper models for the runtime tests, written once per test process.
enum WhisperSynthetic {
    static let root: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-whisper-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()

    static func ct2(_ storage: SyntheticWhisper.Storage, seed: UInt64 = 11) -> String {
        let dir = root.appendingPathComponent("ct2-\(storage)-\(seed)")
        if !FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.bin").path) {
            try! SyntheticWhisper(seed: seed, storage: storage).writeCTranslate2(to: dir)
        }
        return dir.path
    }

    static func hf(_ storage: SyntheticWhisper.Storage, seed: UInt64 = 11) -> String {
        let dir = root.appendingPathComponent("hf-\(storage)-\(seed)")
        if !FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path) {
            try! SyntheticWhisper(seed: seed, storage: storage).writeHuggingFace(to: dir)
        }
        return dir.path
    }

    static func speech(_ name: String) -> AudioSamples {
        try! AudioDecoder.load(path: Fixtures.speech.appendingPathComponent(name).path)
    }

    static let h01 = speech("h01.wav")
}

/// Whisper through `Session` and `ModelManager` on the synthetic model: both layouts decode
/// the same tokens, the checkpoint's suppressed tokens are never generated, long audio goes in
/// 30 s windows, and bad requests and bad models are typed errors that leave things working.
@Suite(.serialized) struct WhisperSessionTests {
    let options = TranscriptionOptions(maxNewTokens: 24, timestamps: false, decoding: .greedy)
    typealias Synthetic = SyntheticWhisper

    func transcribe(_ dir: String, _ audio: AudioSamples = WhisperSynthetic.h01,
                    options: TranscriptionOptions) throws -> (TranscriptionResult, String) {
        let m = try WhisperModel(directory: dir)
        defer { m.close() }
        let t = try Session(model: m)
        defer { t.close() }
        var streamed = ""
        let r = try t.transcribe(audio, options: options) { streamed += $0 }
        return (r, streamed)
    }

    @Test(arguments: [Synthetic.Storage.float32, .float16])
    func bothLayoutsTranscribeToTheSameTokens(storage: Synthetic.Storage) throws {
        let (a, streamedA) = try transcribe(WhisperSynthetic.ct2(storage), options: options)
        let (b, streamedB) = try transcribe(WhisperSynthetic.hf(storage), options: options)
        print("synthetic \(storage): \(a.tokenIDs.count) tokens '\(a.text)'")
        #expect(!a.tokenIDs.isEmpty)
        #expect(a.tokenIDs == b.tokenIDs && a.text == b.text)
        #expect(streamedA == a.text && streamedB == b.text)
        #expect(a.language == "English")
        #expect(a.audioTokens == 1500 && a.promptTokens == 2)   // one window; <|startoftranscript|><|notimestamps|>
    }

    /// Never generated: the checkpoint's `suppress_ids`, the task, start and no-speech tokens; and
    /// not `suppress_ids_begin` first. Their embedding rows (the tied output head) are scaled up
    /// 8x, so without suppression they would win the argmax, as the first check shows.
    /// (`<|notimestamps|>`, timestamps and language tokens are not suppressed, as in CTranslate2's
    /// decoding behind `<|notimestamps|>`; like every special they add no text.)
    @Test func suppressedTokensAreNeverGenerated() throws {
        let never = Set(Synthetic.suppressIDs + ["<|startoftranscript|>", "<|translate|>", "<|transcribe|>", "<|startoflm|>",
                                                  "<|startofprev|>", "<|nocaptions|>"].map(Synthetic.id))
        let boosted = never.union([Synthetic.id("Ġ")])
        let model = Synthetic(seed: 12)
        let dir = Synthetic.scratchDirectory("whisper-suppress")
        defer { try? FileManager.default.removeItem(at: dir) }
        let embedding = model.tensors.first { $0.name == "decoder/embeddings/weight" }!
        var rows = embedding.values
        for id in boosted { for c in 0..<64 { rows[id * 64 + c] *= 8 } }
        try model.writeCTranslate2(to: dir, entries: model.ctranslate2Entries.map {
            $0.name == embedding.name ? .init(name: embedding.name, shape: embedding.shape, floats: rows) : $0
        })
        // Unsuppressed, the first step would pick a boosted token.
        let m = try WhisperModel(directory: dir.path)
        defer { m.close() }
        let state = try m.makeState()
        state.melPointer.update(repeating: 0, count: 80 * 3000)
        m.encode(state)
        try m.decode(["<|startoftranscript|>", "<|notimestamps|>"].map(Synthetic.id), state: state)
        #expect(boosted.contains(Kernels.argmax(state.logitsPointer, count: Synthetic.vocabSize)))
        state.close()

        let t = try Session(model: m)
        defer { t.close() }
        let r = try t.transcribe(WhisperSynthetic.h01, options: .init(maxNewTokens: 48, loopGuardRepeats: 0, timestamps: false, decoding: .greedy))
        print("synthetic, boosted suppressed tokens: \(r.tokenIDs) '\(r.text)'")
        #expect(r.tokenIDs.count > 8)
        #expect(r.tokenIDs.allSatisfy { !never.contains($0) })
        if let first = r.tokenIDs.first { #expect(!Synthetic.suppressAtBegin.contains(first)) }
        #expect(!r.text.contains("<|"))
    }

    @Test func longAudioIsDecodedInThirtySecondWindows() throws {
        // 61 s: h01 repeated, then silence: three windows (30 + 30 + 1 s).
        let speech = WhisperSynthetic.h01.array
        var samples: [Float] = []
        while samples.count < 61 * 16000 { samples += speech + [Float](repeating: 0, count: 8000) }
        let audio = try AudioSamples(Array(samples.prefix(61 * 16000)), sampleRate: 16000)
        let (r, streamed) = try transcribe(WhisperSynthetic.ct2(.float32), audio, options: options)
        #expect(r.audioTokens == 3 * 1500)
        #expect(r.promptTokens == 3 * 2)
        #expect(streamed == r.text)
        #expect(r.tokenIDs.count <= 3 * 24)
    }

    @Test func badRequestsAreTypedErrorsAndTheSessionSurvives() throws {
        let m = try WhisperModel(directory: WhisperSynthetic.ct2(.float32))
        defer { m.close() }
        let t = try Session(model: m)
        defer { t.close() }
        let first = try t.transcribe(WhisperSynthetic.h01, options: options)
        func modelError(_ options: TranscriptionOptions, _ audio: AudioSamples = WhisperSynthetic.h01) -> ModelError? {
            do { _ = try t.transcribe(audio, options: options) } catch {
                guard case .model(let e) = error else { Issue.record("\(error)"); return nil }
                return e
            }
            return nil
        }
        #expect(modelError(.init(language: "klingon")) == .unknownLanguage("klingon", supported: ["English"]))
        // An English-only model has no other language, even one its vocabulary lists.
        #expect(modelError(.init(language: "fr")) == .unknownLanguage("fr", supported: ["English"]))
        // An initial prompt needs tokenizer.json, which this synthetic model does not have.
        if case .unsupportedOption(let message)? = modelError(.init(context: "names")) {
            #expect(message.contains("tokenizer.json"))
        } else {
            Issue.record("a prompt without tokenizer.json was not refused")
        }
        #expect(modelError(.init(), try AudioSamples([Float](repeating: 0.1, count: 100), sampleRate: 16000)) == .audioTooShort(samples: 100))
        // Forcing English on an English-only model is allowed (and has no language token).
        let mapped = t.mappedBytes
        var english = options
        english.language = "English"
        let again = try t.transcribe(WhisperSynthetic.h01, options: english)
        #expect(again.tokenIDs == first.tokenIDs && again.language == "English")
        #expect(t.mappedBytes == mapped)
    }

    /// A manager with a Whisper model loaded: every broken Whisper directory fails its load with
    /// `loadFailed` naming the model and the cause, and the loaded model keeps answering the same.
    @Test func badModelsInAManagerLeaveTheLoadedModelWorking() async throws {
        let bad = Synthetic.scratchDirectory("whisper-manager-bad")
        defer { try? FileManager.default.removeItem(at: bad) }
        func variant(_ name: String, _ make: (URL) throws -> Void) throws -> String {
            let dir = bad.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try make(dir)
            return dir.path
        }
        let model = Synthetic(seed: 11)
        let truncated = try variant("truncated") { dir in
            try model.writeCTranslate2(to: dir)
            let bin = dir.appendingPathComponent("model.bin")
            try Data(contentsOf: bin).prefix(5000).write(to: bin)
        }
        let missingTensor = try variant("missing-tensor") {
            try model.writeCTranslate2(to: $0, entries: model.ctranslate2Entries.filter { $0.name != "decoder/layer_1/ffn/linear_1/bias" })
        }
        let noVocabulary = try variant("no-vocabulary") { dir in
            try model.writeCTranslate2(to: dir)
            try FileManager.default.removeItem(at: dir.appendingPathComponent("vocabulary.txt"))
        }
        let wrongType = try variant("wrong-type") { dir in
            try model.writeHuggingFace(to: dir)
            var config = model.huggingFaceConfig
            config["model_type"] = "whisperish"
            try Synthetic.writeJSON(config, to: dir.appendingPathComponent("config.json"))
        }
        let empty = try variant("empty") { _ in }

        let m = ModelManager()
        try await m.register("w", directory: WhisperSynthetic.ct2(.float32))
        let before = try await m.transcribe(WhisperSynthetic.h01, model: "w", options: options)
        let mapped = MemoryCounters.anonymousBytes + MemoryCounters.fileBytes
        let cases: [(String, String, (ModelError) -> Bool)] = [
            ("truncated", truncated, { if case .ctranslate2(.truncated) = $0 { true } else { false } }),
            ("missing-tensor", missingTensor, { $0 == .missingTensor(name: "decoder/layer_1/ffn/linear_1/bias") }),
            ("no-vocabulary", noVocabulary, { if case .tokenizer = $0 { true } else { false } }),
            ("wrong-type", wrongType, { if case .unsupportedModelType(_, "whisperish", _) = $0 { true } else { false } }),
            ("empty", empty, { if case .notAModelDirectory = $0 { true } else { false } }),
        ]
        for (name, dir, matches) in cases {
            try await m.register(name, directory: dir)
            do {
                try await m.load(name)
                Issue.record("\(name) loaded")
            } catch {
                guard case .loadFailed(let failed, let cause) = error else { Issue.record("\(name): \(error)"); continue }
                #expect(failed == name)
                #expect(matches(cause), "\(name): \(cause)")
                #expect(error.description.contains(name))
            }
            #expect(try await m.state(of: name) == .unloaded)
            #expect(try await m.state(of: "w") == .ready)
        }
        #expect(MemoryCounters.anonymousBytes + MemoryCounters.fileBytes == mapped)
        let after = try await m.transcribe(WhisperSynthetic.h01, model: "w", options: options)
        #expect(after.tokenIDs == before.tokenIDs)
        #expect(try await m.status(of: "w").loads == 1)
        await m.unloadAll()
    }
}
