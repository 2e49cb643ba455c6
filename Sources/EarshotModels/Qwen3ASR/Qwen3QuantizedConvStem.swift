import EarshotTensor

/// The encoder's conv stem as q8_0 GEMMs, for encoders whose linear layers are quantized (files
/// written by `earshot convert --quantize-encoder`): conv2 and conv3 are 3 x 3 convolutions over 480
/// channels, about two thirds of the encoder's work on a short clip, and with int8 weights they run
/// on the same q8_0 kernels as the linear layers (AVX-512 VNNI where the CPU has it).
///
/// Layout: activations channels-last (`[h, w, C]`), so the im2col rows of a 3 x 3 window are 9
/// contiguous runs of C floats; the weights are reordered once, at load, from PyTorch's
/// `[C, C, 3, 3]` to `[C, 3, 3, C]` (row `o`, column `(ky * 3 + kx) * C + c`) and quantized.
/// The f32 stem (`Qwen3ASREncoder`) stays the path of encoders kept as stored.
final class Qwen3QuantizedConvStem: @unchecked Sendable {
    // @unchecked: written once in init; `close()` is called by the model's owner once no session runs.
    private let buffer: PageBuffer
    let conv2, conv3: Matrix          // q8_0 [C, 9 * C], columns (ky, kx, c)

    /// nil when the stem cannot be quantized (9 x C not a whole number of q8_0 blocks).
    convenience init?(weights w: Qwen3ASRWeights, channels c: Int) throws(TensorError) {
        try self.init(conv2: w.conv2, conv3: w.conv3, channels: c)
    }

    /// conv2, conv3: f32 `[C, C, 3, 3]`.
    init?(conv2 w2: UnsafePointer<Float>, conv3 w3: UnsafePointer<Float>, channels c: Int) throws(TensorError) {
        let cols = 9 * c
        guard c > 0, QuantFormat.canQuantize(cols: cols) else { return nil }
        let bytes = QuantFormat.q8_0.byteCount(rows: c, cols: cols)
        buffer = try PageBuffer(byteCount: 2 * bytes, owner: .weights)
        let reordered = try PageBuffer(byteCount: cols * 4, owner: .scratch)   // one output channel at a time
        defer { reordered.close() }
        for (i, source) in [w2, w3].enumerated() {
            let dst = buffer.raw + i * bytes
            for o in 0..<c {
                let row = reordered.floats(), src = source + o * cols                // src [C, 3, 3]
                for ch in 0..<c {
                    for k in 0..<9 { row[k * c + ch] = src[ch * 9 + k] }
                }
                Kernels.quantize(row, rows: 1, cols: cols, format: .q8_0,
                                 into: dst + QuantFormat.q8_0.byteCount(rows: o, cols: cols))
            }
        }
        conv2 = Matrix(storage: .quantized(UnsafeRawPointer(buffer.raw), .q8_0), rows: c, cols: cols)
        conv3 = Matrix(storage: .quantized(UnsafeRawPointer(buffer.raw + bytes), .q8_0), rows: c, cols: cols)
    }

    var mappedBytes: Int { buffer.mappedBytes }

    func close() { buffer.close() }

    /// 3 x 3, stride 2, padding 1 over channels-last `input [h, w, C]` -> `output [ho * wo, C]`
    /// (row `oy * wo + ox`), through `im2col` (`ho * wo * 9 * C` floats) and `matrix`.
    static func convolve(_ input: UnsafePointer<Float>, height h: Int, width w: Int, channels c: Int,
                         matrix: Matrix, bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                         im2col: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let ho = Kernels.conv2dOutputSize(h), wo = Kernels.conv2dOutputSize(w)
        let cols = 9 * c
        for oy in 0..<ho {
            for ox in 0..<wo {
                let row = im2col + (oy * wo + ox) * cols
                for ky in 0..<3 {
                    let iy = 2 * oy + ky - 1
                    for kx in 0..<3 {
                        let ix = 2 * ox + kx - 1
                        let dst = row + (ky * 3 + kx) * c
                        if iy < 0 || iy >= h || ix < 0 || ix >= w {
                            dst.update(repeating: 0, count: c)
                        } else {
                            dst.update(from: input + (iy * w + ix) * c, count: c)
                        }
                    }
                }
            }
        }
        matrix.apply(im2col, count: ho * wo, bias: bias, into: output, scratch: scratch)
    }

    /// conv1 (one input channel) into channels-last `[h1 * w1, C]`: 9 taps per output position
    /// against the f32 weights `[C, 9]`.
    static func convolveFirst(_ mel: UnsafePointer<Float>, height h: Int, width w: Int, channels c: Int,
                              weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                              output: UnsafeMutablePointer<Float>, im2col: UnsafeMutablePointer<Float>) {
        let ho = Kernels.conv2dOutputSize(h), wo = Kernels.conv2dOutputSize(w)
        for oy in 0..<ho {
            for ox in 0..<wo {
                let row = im2col + (oy * wo + ox) * 9
                for ky in 0..<3 {
                    let iy = 2 * oy + ky - 1
                    for kx in 0..<3 {
                        let ix = 2 * ox + kx - 1
                        row[ky * 3 + kx] = (iy < 0 || iy >= h || ix < 0 || ix >= w) ? 0 : mel[iy * w + ix]
                    }
                }
            }
        }
        Kernels.linear(im2col, rows: ho * wo, inFeatures: 9, weight: weight, outFeatures: c, bias: bias, y: output)
    }
}
