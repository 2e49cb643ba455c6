import EarshotTensor
import EarshotTestSupport
import Testing
@testable import EarshotModels

/// The quantized encoders' conv stem (channels-last, q8_0 GEMMs) against the f32 stem
/// (channels-first im2col + sgemm) on the same random inputs and weights.
@Suite struct Qwen3QuantizedConvStemTests {
    /// [c, h, w] -> [h, w, c]
    static func channelsLast(_ x: [Float], c: Int, h: Int, w: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for ch in 0..<c { for y in 0..<h { for xx in 0..<w { out[(y * w + xx) * c + ch] = x[(ch * h + y) * w + xx] } } }
        return out
    }

    @Test func firstLayerEqualsTheChannelsFirstConvolution() {
        let (c, h, w) = (8, 13, 10)
        var r = SeededRandom(seed: 3)
        let mel = r.floats(h * w), weight = r.floats(c * 9), bias = r.floats(c)
        let (ho, wo) = (Kernels.conv2dOutputSize(h), Kernels.conv2dOutputSize(w))
        var reference = [Float](repeating: .nan, count: c * ho * wo), scratch = [Float](repeating: 0, count: 9 * ho * wo)
        Kernels.conv2d3x3s2(input: mel, channels: 1, height: h, width: w, weight: weight, bias: bias, outChannels: c,
                            output: &reference, scratch: &scratch)
        var out = [Float](repeating: .nan, count: c * ho * wo)
        Qwen3QuantizedConvStem.convolveFirst(mel, height: h, width: w, channels: c, weight: weight, bias: bias,
                                             output: &out, im2col: &scratch)
        let expected = Self.channelsLast(reference, c: c, h: ho, w: wo)
        for i in 0..<out.count { #expect(abs(out[i] - expected[i]) < 1e-5, "element \(i)") }
    }

    /// 32 channels (9 x 32 = 288 columns, 9 blocks), odd sizes so padding reaches every edge.
    @Test func quantizedLayersMatchTheF32ConvolutionWithinInt8Rounding() throws {
        let (c, h, w) = (32, 11, 9)
        var r = SeededRandom(seed: 11)
        let input = r.floats(c * h * w), w2 = r.floats(c * c * 9), w3 = r.floats(c * c * 9), bias = r.floats(c)
        let stem = try #require(try Qwen3QuantizedConvStem(conv2: w2, conv3: w3, channels: c))
        defer { stem.close() }
        #expect(stem.mappedBytes >= 2 * QuantFormat.q8_0.byteCount(rows: c, cols: 9 * c))
        #expect(try Qwen3QuantizedConvStem(conv2: w2, conv3: w3, channels: 12) == nil)   // 108 columns: no whole blocks
        let (ho, wo) = (Kernels.conv2dOutputSize(h), Kernels.conv2dOutputSize(w))
        for (weights, matrix) in [(w2, stem.conv2), (w3, stem.conv3)] {
            var reference = [Float](repeating: .nan, count: c * ho * wo), im2col = [Float](repeating: 0, count: 9 * c * ho * wo)
            Kernels.conv2d3x3s2(input: input, channels: c, height: h, width: w, weight: weights, bias: bias, outChannels: c,
                                output: &reference, scratch: &im2col)
            let expected = Self.channelsLast(reference, c: c, h: ho, w: wo)
            var out = [Float](repeating: .nan, count: c * ho * wo)
            var scratch = [Float](repeating: 0, count: matrix.scratchFloats)
            Qwen3QuantizedConvStem.convolve(Self.channelsLast(input, c: c, h: h, w: w), height: h, width: w, channels: c,
                                            matrix: matrix, bias: bias, output: &out, im2col: &im2col, scratch: &scratch)
            // q8_0 weights (and int8 activations on VNNI) are off by at most half a step (max|block| / 254)
            // per value; over 288 terms of random sign the errors add like a random walk: about 0.03
            // per output here, where outputs are ~5 in size. A wrong layout or reordering gives errors ~5.
            var worst: Float = 0, total: Float = 0
            for i in 0..<out.count {
                let e = abs(out[i] - expected[i])
                worst = max(worst, e)
                total += e
            }
            #expect(worst < 0.25, "largest difference \(worst)")
            #expect(total / Float(out.count) < 0.06, "mean difference \(total / Float(out.count))")
            #expect(worst > 0, "q8_0 weights should differ from f32 somewhere")
        }
    }
}
