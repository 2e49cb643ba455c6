import EarshotTensor
import Foundation

extension SileroVADModel {
    /// Windows run through the convolutions together (bounded scratch: ~3.4 MB).
    static let blockWindows = 128

    /// Scratch floats per window of a block, by buffer.
    private enum Scratch {
        static let frames = 4 * 256        // [4, 256] STFT input frames
        static let spectrum = 4 * 258      // [4, 258] real | imaginary
        static let columns = 4 * 387       // im2col, largest layer (129 x 3 per output frame)
        static let activations = 2 * 4 * 129 // two ping-pong activation buffers, [4, 129] at most
        static let gates = 512             // [512] LSTM input projection per window
        static var perWindow: Int { frames + spectrum + columns + activations + gates }
    }

    /// Number of speech probabilities for `count` samples: one per 512-sample window of the audio
    /// padded with zeros to the next multiple of 512 (a whole window more when it already is one),
    /// as faster-whisper's `get_speech_timestamps` pads it.
    public static func windowCount(samples count: Int) -> Int { count / windowSamples + 1 }

    /// Speech probability of every 32 ms window of 16 kHz `samples`, as faster-whisper's
    /// `SileroVADModel.__call__` computes them: each window sees the previous window's last 64
    /// samples (zeros before the first), the LSTM state runs through the whole clip, and the last
    /// 64 samples of the padded audio are zero (faster-whisper's `context[-1] = 0` writes through a
    /// view into the audio itself).
    public func speechProbabilities(_ samples: UnsafeBufferPointer<Float>) throws(ModelError) -> [Float] {
        let windows = Self.windowCount(samples: samples.count)
        let padded = windows * Self.windowSamples
        let usable = min(samples.count, padded - Self.contextSamples)
        let block = Self.blockWindows
        let scratch: PageBuffer
        do { scratch = try PageBuffer(byteCount: (block * Scratch.perWindow + 3 * 512) * 4, owner: .scratch) } catch {
            throw .weights(error)
        }
        defer { scratch.close() }
        let s = scratch.floats()
        let frames = s, spectrum = frames + block * Scratch.frames, columns = spectrum + block * Scratch.spectrum
        let actA = columns + block * Scratch.columns, actB = actA + block * 4 * 129
        let gates = actB + block * 4 * 129
        let h = gates + block * Scratch.gates, c = h + 128, g = c + 128   // state [128], [128]; step gates [512]
        h.update(repeating: 0, count: 256)
        var probabilities = [Float](repeating: 0, count: windows)
        let x = samples.baseAddress

        var first = 0
        while first < windows {
            let n = min(block, windows - first)
            // 1. STFT frames: frame f of window w is samples [128f, 128f + 256) of its 576-sample
            // input reflect-padded on the right (the left pad only feeds the dropped frame 0).
            for w in 0..<n {
                // The window's 576 input samples, then its frames: 0-2 lie inside them, frame 3
                // runs 64 samples past the end into the reflection.
                let input = columns   // free until step 3
                let start = (first + w) * Self.windowSamples - Self.contextSamples
                let lo = max(0, -start), hi = max(lo, min(Self.inputSamples, usable - start))
                if lo > 0 { input.update(repeating: 0, count: lo) }
                if hi > lo { (input + lo).update(from: x! + start + lo, count: hi - lo) }
                if hi < Self.inputSamples { (input + hi).update(repeating: 0, count: Self.inputSamples - hi) }
                let row = frames + w * Self.frames * Self.fftSize
                for f in 0..<Self.frames {
                    let inside = min(Self.fftSize, Self.inputSamples - Self.hop * f)
                    (row + f * Self.fftSize).update(from: input + Self.hop * f, count: inside)
                    var q = Self.hop * f + inside
                    for k in inside..<Self.fftSize {
                        row[f * Self.fftSize + k] = input[2 * (Self.inputSamples - 1) - q]
                        q += 1
                    }
                }
            }
            // 2. [4n, 258] = frames · basisᵀ; magnitude of bins 0..<129 -> actA [4n, 129].
            let rows = n * Self.frames
            Kernels.gemm(transB: true, m: rows, n: 258, k: Self.fftSize, a: frames, lda: Self.fftSize,
                         b: weights(basis), ldb: Self.fftSize, c: spectrum, ldc: 258)
            for r in 0..<rows {
                let src = spectrum + r * 258, dst = actA + r * Self.bins
                for b in 0..<Self.bins { dst[b] = (src[b] * src[b] + src[Self.bins + b] * src[Self.bins + b]).squareRoot() }
            }
            // 3. The convolutions, ReLU after each: [n, T, C] time-major per window.
            var input = actA, output = actB, length = Self.frames
            for (i, layer) in Self.convs.enumerated() {
                length = conv(input, windows: n, length: length, layer: i, cin: layer.cin, cout: layer.cout,
                              stride: layer.stride, columns: columns, output: output)
                swap(&input, &output)
            }
            // input: [n, 128] encoder features (length 1).
            // 4. LSTM input projection for the block: [n, 512] = features · Wᵀ + Wb.
            Kernels.gemm(transB: true, m: n, n: 512, k: Self.hidden, a: input, lda: Self.hidden,
                         b: weights(lstmInput), ldb: Self.hidden, c: gates, ldc: 512)
            for w in 0..<n {
                lstmStep(gates + w * 512, h: h, c: c, g: g)
                // 5. Output head: sigmoid(w · relu(h) + b).
                var sum: Float = 0
                let ow = weights(outWeight)
                for j in 0..<Self.hidden { sum += ow[j] * max(h[j], 0) }
                probabilities[first + w] = 1 / (1 + Foundation.exp(-(sum + weights(outBias)[0])))
            }
            first += n
        }
        return probabilities
    }

    /// Conv1d (kernel 3, padding 1) + ReLU over `windows` independent sequences of `length` frames,
    /// [windows, length, cin] -> [windows, outLength, cout], through im2col and one GEMM. Returns
    /// the output length.
    private func conv(_ x: UnsafeMutablePointer<Float>, windows: Int, length: Int, layer: Int, cin: Int, cout: Int,
                      stride: Int, columns: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) -> Int {
        let outLength = (length + 2 - 3) / stride + 1
        let width = cin * 3
        for w in 0..<windows {
            for t in 0..<outLength {
                let col = columns + (w * outLength + t) * width   // [3, cin], as the loader lays out the weight
                for k in 0..<3 {
                    let p = t * stride + k - 1
                    if p < 0 || p >= length {
                        (col + k * cin).update(repeating: 0, count: cin)
                    } else {
                        (col + k * cin).update(from: x + (w * length + p) * cin, count: cin)
                    }
                }
            }
        }
        let rows = windows * outLength
        Kernels.gemm(transB: true, m: rows, n: cout, k: width, a: columns, lda: width,
                     b: weights(convWeight[layer]), ldb: width, c: output, ldc: cout)
        let bias = weights(convBias[layer])
        for r in 0..<rows {
            let row = output + r * cout
            for o in 0..<cout { row[o] = max(row[o] + bias[o], 0) }
        }
        return outLength
    }

    /// One LSTM step (ONNX gate order i, o, f, c): `xw` holds W·x for this window; h and c update
    /// in place. g: [512] scratch.
    private func lstmStep(_ xw: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>,
                          c: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>) {
        Kernels.matvec(weights(lstmRecurrent), rows: 512, cols: Self.hidden, x: h, bias: nil, y: g)
        let wb = weights(lstmBias), rb = wb + 512
        for j in 0..<512 { g[j] = (xw[j] + wb[j]) + (g[j] + rb[j]) }
        for j in 0..<Self.hidden {
            let i = sigmoid(g[j]), o = sigmoid(g[128 + j]), f = sigmoid(g[256 + j])
            let cell = Foundation.tanh(g[384 + j])
            c[j] = f * c[j] + i * cell
            h[j] = o * Foundation.tanh(c[j])
        }
    }

    @inline(__always) private func sigmoid(_ v: Float) -> Float { 1 / (1 + Foundation.exp(-v)) }
}
