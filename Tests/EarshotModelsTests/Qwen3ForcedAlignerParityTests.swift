import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotModels

/// Parity with the official Qwen3-ForcedAligner (qwen-asr 0.0.6, float32, windowed encoder) on the
/// tiny random checkpoint, in the fixture README's order and with its tolerances: prompt ids ->
/// audio_embeds -> hidden_ts -> logits -> output_ids (exact) -> repaired ms -> items (exact).
@Suite(.serialized) struct Qwen3ForcedAlignerParityTests {
    static let model: Qwen3ForcedAlignerModel = try! Qwen3ForcedAlignerModel(directory: Fixtures.alignerTinyModel.path)

    typealias Item = AlignerGolden.Item

    static func golden(_ id: String) throws -> (AlignerGolden, SafeTensorsFile) {
        (try AlignerGolden.load(id), try SafeTensorsFile(path: Fixtures.alignerTinyGolden(id).path))
    }

    static func maxAbs(_ a: [Float]) -> Float { a.map(abs).max() ?? 0 }

    /// The clip's log-mel as the official processor computes it (the Qwen3-ASR fixture's `mel`:
    /// the aligner README checked it bit-identical), so this suite tests the model on its own.
    static func mel(_ audio: String) throws -> SafeTensor {
        let clip = URL(fileURLWithPath: audio).deletingPathExtension().lastPathComponent
        return try SafeTensorsFile(path: Fixtures.qwenTinyGolden(clip).path).tensor("mel")
    }

    @Test(arguments: Fixtures.alignerCases)
    func matchesTheOfficialAligner(_ id: String) throws {
        let model = Self.model
        let (g, t) = try Self.golden(id)
        let words = try model.words(g.text, language: g.language)
        #expect(words == g.word_list, "\(id): words")

        // Encoder: audio_embeds within 1e-5 of the largest reference value.
        let mel = try Self.mel(g.audio)
        let frames = mel.shape[1], n = model.audioTokenCount(frames: frames)
        let wantEmbeds = try t.tensor("audio_embeds").floatArray()
        let hidden = model.config.thinkerConfig.textConfig.hiddenSize
        #expect(n * hidden == wantEmbeds.count, "\(id): audio tokens")
        var embeds = [Float](repeating: .nan, count: n * hidden)
        try embeds.withUnsafeMutableBufferPointer { try model.encode(mel: mel.floatArray(), frames: frames, into: $0.baseAddress!) }
        let embedErr = zip(embeds, wantEmbeds).map { abs($0 - $1) }.max() ?? .nan
        #expect(embedErr <= 1e-5 * Self.maxAbs(wantEmbeds), "\(id): audio_embeds max error \(embedErr)")

        // Prompt, exactly.
        let prompt = try model.promptTokens(words: words, audioTokens: n)
        #expect(prompt == (try t.tensor("input_ids")).intArray(), "\(id): input_ids")
        let positions = prompt.indices.filter { prompt[$0] == model.timestampTokenID }
        #expect(positions == (try t.tensor("timestamp_positions")).intArray(), "\(id): timestamp_positions")

        // Decoder: hidden rows, logits at the first two slots, top-8 logits at every slot.
        let wantHidden = try t.tensor("hidden_ts").floatArray(), head = try t.tensor("logits_ts_head").floatArray()
        let topIDs = try t.tensor("topk_ids").intArray(), topLogits = try t.tensor("topk_logits").floatArray()
        let hiddenTolerance = 5e-4 * Self.maxAbs(wantHidden), classes = model.classes
        var hiddenErr: Float = 0, logitErr: Float = 0, visited = 0
        let state = try model.makeState(maxTokens: prompt.count, blockRows: 64)   // several blocks on `long`
        defer { state.close() }
        let ids = try model.classify(tokens: prompt, audio: embeds, audioCount: n, state: state) { slot, h, logits in
            visited += 1
            for i in 0..<hidden { hiddenErr = max(hiddenErr, abs(h[i] - wantHidden[slot * hidden + i])) }
            if slot < 2 {
                for c in 0..<classes { logitErr = max(logitErr, abs(logits[c] - head[slot * classes + c])) }
            }
            for j in 0..<8 { logitErr = max(logitErr, abs(logits[topIDs[slot * 8 + j]] - topLogits[slot * 8 + j])) }
        }
        print("aligner parity \(id): audio_embeds error \(embedErr), hidden_ts \(hiddenErr), logits \(logitErr)")
        #expect(visited == positions.count)
        #expect(hiddenErr <= hiddenTolerance, "\(id): hidden_ts max error \(hiddenErr)")
        #expect(logitErr <= 1e-3, "\(id): logits max error \(logitErr)")
        #expect(ids == g.output_ids, "\(id): output_ids")
        #expect(model.milliseconds(classes: ids) == (try t.tensor("timestamps_ms_raw")).floatArray(), "\(id): raw ms")

        // Repair and items, exactly.
        #expect(TimestampRepair.repair(model.milliseconds(classes: ids).map(Double.init)) == g.timestamps_ms_fixed)
        let items = model.items(words: words, classes: ids).map { Item(text: $0.text, start_time: $0.start, end_time: $0.end) }
        #expect(items == g.items, "\(id): items")
    }

    /// The aligner's checkpoint is refused as a Qwen3-ASR model, and the reverse, by name.
    @Test func familiesAreNotConfused() {
        #expect(throws: ModelError.self) { _ = try Qwen3ASRModel(directory: Fixtures.alignerTinyModel.path) }
        do {
            _ = try Qwen3ForcedAlignerModel(directory: Fixtures.qwenTinyModel.path)
            Issue.record("a Qwen3-ASR checkpoint loaded as an aligner")
        } catch {
            #expect("\(error)".contains("is a Qwen3-ASR checkpoint, not a Qwen3-ForcedAligner one"))
        }
    }
}

/// The prompt of every non-Japanese text case (one `<|audio_pad|>`, before expansion) equals the
/// official processor's ids: added tokens split the text, each word is encoded alone.
@Test func alignerPromptsOfTheTextCasesMatch() throws {
    struct TextCase: Decodable {
        let id: String, text: String, language: String
        let input_ids: [Int]
    }
    struct Cases: Decodable { let encode_timestamp: [TextCase] }
    let url = Fixtures.alignerTiny.appendingPathComponent("golden/text_cases.json")
    let cases = try JSONDecoder().decode(Cases.self, from: Data(contentsOf: url)).encode_timestamp
    let model = Qwen3ForcedAlignerParityTests.model
    var compared = 0
    for c in cases where c.language.lowercased() != "japanese" {
        let words = try model.words(c.text, language: c.language)
        #expect(try model.promptTokens(words: words, audioTokens: 1) == c.input_ids, "\(c.id)")
        compared += 1
    }
    #expect(compared == 28)
}

/// `earshot convert` writes the aligner as one GGUF file (the head included), which loads as an
/// aligner: stored bf16 as converted, its classes are the official ones on every case; q8 (with or
/// without the encoder quantized) loads and classifies every slot.
@Test func alignerConvertedToGGUFKeepsItsClasses() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aligner-gguf-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(throws: ModelError.self) {
        try ModelConverter.convert(directory: Fixtures.alignerTinyModel.path, to: dir.appendingPathComponent("x.gguf").path,
                                   quant: .inPlace, quantizeEncoder: true)
    }
    for (quant, encoder) in [(WeightPrecision.inPlace, false), (.q8, false), (.q8, true)] {
        let path = dir.appendingPathComponent("aligner-\(quant.rawValue)-\(encoder).gguf").path
        try ModelConverter.convert(directory: Fixtures.alignerTinyModel.path, to: path, quant: quant, quantizeEncoder: encoder)
        let model = try Qwen3ForcedAlignerModel(directory: path)
        defer { model.close() }
        let fc1 = model.weights.encoderLayers[0].fc1.storage
        if case .quantized(_, .q8_0) = fc1 { #expect(encoder) } else { #expect(!encoder) }
        #expect(throws: ModelError.self) { _ = try Qwen3ASRModel(directory: path) }
        for id in Fixtures.alignerCases {
            let (g, t) = try Qwen3ForcedAlignerParityTests.golden(id)
            let embeds = try t.tensor("audio_embeds")
            let prompt = try model.promptTokens(words: g.word_list, audioTokens: embeds.shape[0])
            let state = try model.makeState(maxTokens: prompt.count)
            defer { state.close() }
            let ids = try model.classify(tokens: prompt, audio: embeds.floatArray(), audioCount: embeds.shape[0], state: state)
            if quant == .inPlace { #expect(ids == g.output_ids, "\(id)") } else { #expect(ids.count == g.output_ids.count) }
        }
    }
}
