import EarshotTensor
import Foundation

extension WhisperModel {
    /// Floats `alignmentWeights` needs in `scratch` for a `rows`-token sequence (logits in chunks).
    public static let alignmentLogitRows = 16
    public func alignmentScratchFloats() -> Int { Self.alignmentLogitRows * dims.vocabSize }

    /// What word timing reads from one forward pass of `tokens` (start sequence, <|notimestamps|>,
    /// the text, end-of-text) over the window encoded in `state`, as CTranslate2's `Whisper.align`:
    /// - `weights [heads, n, frames]`: each alignment head's cross-attention of every position over
    ///   the first `frames` encoder positions (softmax over those only: the rest is padding);
    /// - `probabilities [n]`: at position i, the probability of `tokens[i + 1]` among the text ids
    ///   (softmax over ids below end-of-text; 0 for a special next token).
    /// `scratch` holds `alignmentScratchFloats()`. Replaces slot 0's cached tokens.
    public func alignmentWeights(tokens: [Int], frames: Int, state: WhisperState, weights: UnsafeMutablePointer<Float>,
                                 probabilities: UnsafeMutablePointer<Float>,
                                 scratch: UnsafeMutablePointer<Float>) throws(ModelError) {
        let heads = generation.alignmentHeads
        guard !heads.isEmpty else { throw .unsupportedOption("word timestamps need the model's alignment heads; \(directory) lists none") }
        let n = tokens.count, d = dims.modelDim, hd = d / dims.decoderHeads
        guard n <= dims.textContext else { throw .promptTooLong(tokens: n, limit: dims.textContext) }
        guard frames > 0, frames <= dims.audioContext else {
            throw .invalidConfig(path: directory, reason: "alignment over \(frames) encoder positions")
        }
        for t in tokens where t < 0 || t >= dims.vocabSize {
            throw .invalidConfig(path: directory, reason: "token id \(t) outside the vocabulary of \(dims.vocabSize)")
        }
        let scale = 1 / Float(hd).squareRoot()
        state.reset()
        tokens.withUnsafeBufferPointer { ids in
            decoder.forward(ids, state) { layer, q, rows in
                for (index, head) in heads.enumerated() where head.layer == layer {
                    let keys = state.crossKeys(layer) + head.head * hd
                    for t in 0..<rows {
                        let row = weights + (index * n + t) * frames          // [frames]
                        let query = q + t * d + head.head * hd
                        for f in 0..<frames { row[f] = Kernels.dot(query, keys + f * d, hd) * scale }
                        Kernels.softmax(row, count: frames)
                    }
                }
            }
        }
        state.reset()
        // Text-token probabilities from every position's logits, a chunk of rows at a time.
        let x = state.ptr(state.dx), h = state.ptr(state.dh), tiles = state.ptr(state.tiles)
        normed(x, into: h, rows: n, self.weights.decoderNorm)
        let eot = vocabulary.endOfText
        var start = 0
        while start < n {
            let rows = min(Self.alignmentLogitRows, n - start)
            self.weights.tokenEmbedding.apply(h + start * d, count: rows, bias: nil, into: scratch, scratch: tiles)
            for r in 0..<rows {
                let i = start + r, logits = scratch + r * dims.vocabSize
                let next = i + 1 < n ? tokens[i + 1] : eot
                probabilities[i] = next < eot ? Foundation.exp(logits[next] - Kernels.logSumExp(logits, count: eot)) : 0
            }
            start += rows
        }
    }
}
