import EarshotTensor
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotModels

/// Parity with the official implementation (qwen-asr transformers backend, canonical windowed
/// encoder) on the tiny random checkpoint: every tolerance is the issue's.
@Suite(.serialized) struct Qwen3ASRParityTests {
    static let model: Qwen3ASRModel = try! Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path)

    struct Case {
        let id: String
        let context: String
        let language: String?
    }
    static let cases = [
        Case(id: "fox", context: "", language: nil),
        Case(id: "fox_lang", context: "", language: "English"),
        Case(id: "fox_ctx", context: "Names: Zyxel, Quokka.", language: nil),
        Case(id: "long", context: "", language: nil),
        Case(id: "short", context: "", language: nil),
    ]

    static func rms(_ x: [Float]) -> Float {
        (x.reduce(0) { $0 + $1 * $1 } / Float(max(x.count, 1))).squareRoot()
    }

    @Test(arguments: cases.map(\.id))
    func encoderMatchesGolden(_ id: String) throws {
        let golden = try SafeTensorsFile(path: Fixtures.qwenTinyGolden(id).path)
        let mel = try golden.tensor("mel"), expected = try golden.tensor("audio_embeds")
        let frames = mel.shape[1]
        let model = Self.model
        #expect(model.audioTokenCount(frames: frames) == expected.shape[0])
        var out = [Float](repeating: .nan, count: expected.elementCount)
        let melValues = mel.floatArray()
        try out.withUnsafeMutableBufferPointer { o in
            try model.encode(mel: melValues, frames: frames, into: o.baseAddress!)
        }
        let want = expected.floatArray()
        let tol = 1e-3 * Self.rms(want)
        let maxErr = zip(out, want).map { abs($0 - $1) }.max() ?? .nan
        #expect(maxErr <= tol, "\(id): max |audio_embeds error| \(maxErr) > \(tol)")
    }

    @Test(arguments: cases)
    func promptLogitsAndGreedyMatchGolden(_ c: Case) throws {
        let golden = try SafeTensorsFile(path: Fixtures.qwenTinyGolden(c.id).path)
        let embeds = try golden.tensor("audio_embeds")
        let model = Self.model
        let n = embeds.shape[0]
        let prompt = try model.promptTokens(context: c.context, language: c.language, audioTokens: n)
        #expect(prompt == (try golden.tensor("prompt_ids")).intArray(), "\(c.id): prompt ids differ")

        // Feed the golden audio embeddings so decoder parity is checked on its own.
        let state = try model.makeState(maxTokens: prompt.count + 16)
        let audio = embeds.floatArray()
        try model.prefill(tokens: prompt, audio: audio, audioCount: n, state: state)
        let vocab = model.config.thinkerConfig.textConfig.vocabSize
        let first = Array(UnsafeBufferPointer(start: state.logitsPointer, count: vocab))
        let wantFirst = (try golden.tensor("logits_first")).floatArray()
        let tol = 1e-3 * Self.rms(wantFirst)
        let firstErr = zip(first, wantFirst).map { abs($0 - $1) }.max() ?? .nan
        #expect(firstErr <= tol, "\(c.id): logits_first max error \(firstErr) > \(tol)")

        let greedy = (try golden.tensor("greedy_ids")).intArray()
        let topIDs = (try golden.tensor("topk_ids")).intArray(), topLogits = (try golden.tensor("topk_logits")).floatArray()
        var generated: [Int] = []
        for stepIndex in 0..<greedy.count {
            let logits = state.logitsPointer
            for j in 0..<8 {
                let id = topIDs[stepIndex * 8 + j]
                let err = abs(logits[id] - topLogits[stepIndex * 8 + j])
                #expect(err <= tol, "\(c.id) step \(stepIndex) top-\(j) id \(id): error \(err) > \(tol)")
            }
            let next = Kernels.argmax(logits, count: vocab)
            generated.append(next)
            if stepIndex + 1 < greedy.count { try model.step(token: next, state: state) }
        }
        #expect(generated == greedy, "\(c.id): greedy ids differ")
        state.close()
    }
}

extension Qwen3ASRParityTests.Case: CustomTestStringConvertible, Sendable {
    var testDescription: String { id }
}
