import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotModels

/// The synthetic Whisper model in both layouts: sizes, vocabulary and decoding settings are read
/// from each, and the same values give the same logits whichever layout and storage hold them.
@Suite(.serialized) struct WhisperLoadingTests {
    typealias Synthetic = SyntheticWhisper

    /// Writes `model` as CTranslate2 and as Hugging Face; removes both after `body`.
    func withBothLayouts(_ model: Synthetic, projOut: Bool = false,
                         _ body: (_ ct2: URL, _ hf: URL) throws -> Void) throws {
        let ct2 = Synthetic.scratchDirectory("whisper-ct2"), hf = Synthetic.scratchDirectory("whisper-hf")
        defer {
            try? FileManager.default.removeItem(at: ct2)
            try? FileManager.default.removeItem(at: hf)
        }
        try model.writeCTranslate2(to: ct2)
        try model.writeHuggingFace(to: hf, projOut: projOut)
        try body(ct2, hf)
    }

    /// The numeric comparisons below encode many times, and a debug build spends ~8 s per
    /// 1500-position window in attention softmax; they never go through the runtime's 30 s
    /// windowing, so they use a 150-position (3 s) window, which the model computes the same way.
    static let shortWindow: Synthetic.Dims = {
        var d = Synthetic.Dims()
        d.audioContext = 150
        return d
    }()

    /// Logits after a four-token prompt (one batched call) and after each of four more tokens,
    /// for one window of random but fixed log-mel features `[mels, 2 * audioContext]`.
    static func logits(_ m: WhisperModel) throws -> [[Float]] {
        let s = try m.makeState()
        defer { s.close() }
        var rng = SeededRandom(seed: 42)
        let mel = rng.floats(m.dims.melBins * m.dims.windowFrames, scale: 1)
        mel.withUnsafeBufferPointer { s.melPointer.update(from: $0.baseAddress!, count: $0.count) }
        m.encode(s)
        var out: [[Float]] = []
        let prompt = ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"].map(Synthetic.id)
        let steps = [[Int]](arrayLiteral: prompt) + ["ĠThe", "Ġbirch", "a", "."].map { [Synthetic.id($0)] }
        for tokens in steps {
            try m.decode(tokens, state: s)
            out.append(Array(UnsafeBufferPointer(start: s.logitsPointer, count: m.dims.vocabSize)))
        }
        return out
    }

    static func maxDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
        zip(a, b).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? .infinity
    }

    @Test func ctranslate2LayoutGivesSizesVocabularyAndSettings() throws {
        let model = Synthetic()
        try withBothLayouts(model) { ct2, _ in
            let m = try WhisperModel(directory: ct2.path)
            defer { m.close() }
            #expect(m.layout == .ctranslate2)
            #expect(m.dims == WhisperDimensions(melBins: 80, modelDim: 64, encoderLayers: 2, decoderLayers: 2,
                                                encoderHeads: 2, decoderHeads: 2, ffnDim: 256, vocabSize: 96,
                                                audioContext: 1500, textContext: 448))
            #expect(m.dims.windowFrames == 3000)
            #expect(!m.isMultilingual)
            let v = m.vocabulary
            #expect(v.tokens == Synthetic.vocabulary)
            #expect(v.endOfText == Synthetic.id("<|endoftext|>") && v.startOfTranscript == Synthetic.id("<|startoftranscript|>"))
            #expect(v.noTimestamps == Synthetic.id("<|notimestamps|>") && v.timestampBegin == v.noTimestamps + 1)
            #expect(v.transcribe == Synthetic.id("<|transcribe|>") && v.translate == Synthetic.id("<|translate|>"))
            #expect(v.noSpeech == Synthetic.id("<|nocaptions|>"))
            #expect(v.languages == ["en": Synthetic.id("<|en|>"), "fr": Synthetic.id("<|fr|>")])
            #expect(v.decode(["ĠThe", "Ġbirch", "Ġcanoe", "<|endoftext|>", "Ġslid", "."].map(Synthetic.id)) == " The birch canoe slid.")
            #expect(m.generation == WhisperGenerationConfig(suppressTokens: Synthetic.suppressIDs,
                                                            suppressAtBegin: Synthetic.suppressAtBegin,
                                                            alignmentHeads: [.init(layer: 1, head: 0), .init(layer: 1, head: 1)]))
            #expect(try ModelRegistry.family(of: ct2.path) == .whisper)
        }
    }

    @Test(arguments: [false, true])
    func huggingFaceLayoutGivesTheSameSizesVocabularyAndSettings(projOut: Bool) throws {
        try withBothLayouts(Synthetic(), projOut: projOut) { ct2, hf in
            let a = try WhisperModel(directory: ct2.path), b = try WhisperModel(directory: hf.path)
            defer { a.close(); b.close() }
            #expect(b.layout == .huggingFace)
            #expect(b.dims == a.dims)
            #expect(b.vocabulary.tokens == a.vocabulary.tokens)
            #expect(b.vocabulary.languages == a.vocabulary.languages && b.vocabulary.noSpeech == a.vocabulary.noSpeech)
            #expect(b.generation == a.generation)
            #expect(try ModelRegistry.family(of: hf.path) == .whisper)
            guard case .whisper(let c) = try ModelRegistry.load(directory: hf.path) else {
                Issue.record("the registry did not load a Whisper model")
                return
            }
            #expect(c.dims == a.dims)
            c.close()
        }
    }

    /// The loader's core promise: both layouts bind the same numbers to the same roles. The
    /// float32 and float16 files hold exactly the values of the Hugging Face copy, so logits must
    /// match bit for bit; the int8 file is compared with its dequantized values (value = q / scale).
    @Test(arguments: Synthetic.Storage.allCases)
    func bothLayoutsGiveTheSameLogits(storage: Synthetic.Storage) throws {
        try withBothLayouts(Synthetic(seed: 7, storage: storage, dims: Self.shortWindow)) { ct2, hf in
            let a = try WhisperModel(directory: ct2.path), b = try WhisperModel(directory: hf.path)
            defer { a.close(); b.close() }
            let la = try Self.logits(a), lb = try Self.logits(b)
            let peak = lb.joined().map(abs).max()!
            #expect(peak > 1, "logits are too flat to compare: \(peak)")
            #expect(la.joined().allSatisfy { $0.isFinite })
            let diff = Self.maxDifference(la, lb)
            print("whisper \(storage): CT2 vs HF max |logit difference| \(diff) (peak \(peak))")
            if storage == .int8 {
                #expect(diff <= 1e-4 * peak)
            } else {
                #expect(la == lb)
            }
            // Same greedy choices at every step.
            #expect(la.map { $0.indices.max { $0 < $1 } } == lb.map { $0.indices.max { $0 < $1 } })
        }
    }

    /// Hugging Face checkpoints saved in half precision: float16 is widened at load (exactly the
    /// CTranslate2 float16 numbers); bfloat16 matrices are computed on in place from the mapping.
    @Test(arguments: [(Synthetic.Storage.float16, DType.f16), (.bfloat16, .bf16)])
    func halfPrecisionHuggingFaceCheckpointsMatch(storage: Synthetic.Storage, dtype: DType) throws {
        let model = Synthetic(seed: 5, storage: storage, dims: Self.shortWindow)
        let ct2 = Synthetic.scratchDirectory("whisper-ct2"), hf = Synthetic.scratchDirectory("whisper-hf-half")
        defer {
            try? FileManager.default.removeItem(at: ct2)
            try? FileManager.default.removeItem(at: hf)
        }
        try model.writeCTranslate2(to: ct2)
        try model.writeHuggingFace(to: hf, dtype: dtype)
        let a = try WhisperModel(directory: ct2.path), b = try WhisperModel(directory: hf.path)
        defer { a.close(); b.close() }
        let la = try Self.logits(a), lb = try Self.logits(b)
        let peak = la.joined().map(abs).max()!
        let diff = Self.maxDifference(la, lb)
        print("whisper HF \(dtype) vs CT2 \(storage): max |logit difference| \(diff) (peak \(peak))")
        #expect(diff <= 1e-4 * peak)
        if dtype == .f16 { #expect(la == lb) }
    }

    /// The int8 storage is a faithful quantization: its logits stay close to the float32 model it came from.
    @Test func int8StorageStaysCloseToTheFloatModel() throws {
        let ct2f = Synthetic.scratchDirectory("whisper-f32"), ct2q = Synthetic.scratchDirectory("whisper-int8")
        defer {
            try? FileManager.default.removeItem(at: ct2f)
            try? FileManager.default.removeItem(at: ct2q)
        }
        try Synthetic(seed: 7, storage: .float32, dims: Self.shortWindow).writeCTranslate2(to: ct2f)
        try Synthetic(seed: 7, storage: .int8, dims: Self.shortWindow).writeCTranslate2(to: ct2q)
        let f = try WhisperModel(directory: ct2f.path), q = try WhisperModel(directory: ct2q.path)
        defer { f.close(); q.close() }
        let lf = try Self.logits(f), lq = try Self.logits(q)
        let peak = lf.joined().map(abs).max()!
        let diff = Self.maxDifference(lf, lq)
        print("whisper int8 vs float32: max |logit difference| \(diff) (peak \(peak))")
        #expect(diff < 0.05 * peak)
    }

    /// Every load precision binds every storage: block quantization at load (q8, q4) of float16
    /// and row-scaled int8 sources, and f32 copies, all compute nearly the in-place logits.
    @Test func everyPrecisionLoadsEveryStorage() throws {
        for storage in Synthetic.Storage.allCases {
            let dir = Synthetic.scratchDirectory("whisper-\(storage)")
            defer { try? FileManager.default.removeItem(at: dir) }
            try Synthetic(seed: 3, storage: storage, dims: Self.shortWindow).writeCTranslate2(to: dir)
            let reference = try WhisperModel(directory: dir.path)
            let lr = try Self.logits(reference)
            reference.close()
            let peak = lr.joined().map(abs).max()!
            for precision in [WeightPrecision.float32, .q8, .q4] {
                let m = try WhisperModel(directory: dir.path, precision: precision)
                let l = try Self.logits(m)
                m.close()
                let diff = Self.maxDifference(lr, l)
                let bound: Float = precision == .float32 ? 0 : precision == .q8 ? 0.05 : 0.3
                #expect(diff <= bound * peak, "\(storage) at \(precision): \(diff) vs peak \(peak)")
            }
        }
    }

    @Test func estimateMatchesTheLoadedSizes() throws {
        let dir = Synthetic.scratchDirectory("whisper-estimate")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Synthetic().writeCTranslate2(to: dir)
        let e = try ModelRegistry.estimate(directory: dir.path)
        let m = try WhisperModel(directory: dir.path)
        defer { m.close() }
        let s = try m.makeState(slots: 5)    // faster-whisper's defaults: 5 beams / 5 candidates
        defer { s.close() }
        // The weights are copied to f32 (CTranslate2 data is unaligned); the estimate counts them all.
        #expect(e.weightBytes >= m.store.arena.byteCount - 64 * 1024)
        #expect(e.weightBytes <= m.store.arena.byteCount + 64 * 1024)
        #expect(e.sessionBytes >= s.mappedBytes)
    }
}
