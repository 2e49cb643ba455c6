import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotModels

/// Long clips are encoded a group of attention windows at a time; windows are independent, so the
/// output must not depend on the group size, and a window must never see another window's tokens.
struct Qwen3ASREncoderGroupingTests {
    @Test func groupSizeDoesNotChangeTheOutput() throws {
        let model = try Qwen3ASRModel(directory: Fixtures.qwenTinyModel.path)
        defer { model.close() }
        let cfg = model.config.thinkerConfig.audioConfig
        let frames = 2 * 800 + 337                            // 2 full 8 s windows + a tail; 20 chunks
        var rng = SeededRandom(seed: 3)
        let mel = rng.floats(cfg.numMelBins * frames, scale: 1)
        let n = model.audioTokenCount(frames: frames)
        #expect(n == 13 * 19 + 5)
        func encode(group: Int) throws -> [Float] {
            let enc = Qwen3ASREncoder(weights: model.weights, config: cfg, windowsPerGroup: group)
            var out = [Float](repeating: .nan, count: n * cfg.outputDim)
            try out.withUnsafeMutableBufferPointer { try enc.encode(mel: mel, frames: frames, into: $0.baseAddress!) }
            return out
        }
        let one = try encode(group: 1), eight = try encode(group: 8)
        #expect(one.allSatisfy { $0.isFinite })
        #expect(one == eight)

        // Changing the last window's audio leaves the first window's tokens unchanged.
        var changed = mel
        for b in 0..<cfg.numMelBins { for t in 1700..<frames { changed[b * frames + t] = -1 } }
        let enc = Qwen3ASREncoder(weights: model.weights, config: cfg)
        var out = [Float](repeating: .nan, count: n * cfg.outputDim)
        try out.withUnsafeMutableBufferPointer { try enc.encode(mel: changed, frames: frames, into: $0.baseAddress!) }
        let firstWindow = 104 * cfg.outputDim
        #expect(Array(out[..<firstWindow]) == Array(eight[..<firstWindow]))
        #expect(Array(out[(2 * firstWindow)...]) != Array(eight[(2 * firstWindow)...]))
    }
}
