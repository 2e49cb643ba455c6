import EarshotTensor

/// Silero VAD v6, as faster-whisper ships it (`faster_whisper/assets/silero_vad_v6.onnx`): read-only
/// weights, loaded from the ONNX file. `SileroVADModel.speechProbabilities` runs it.
///
/// The graph (16 kHz), per window of 576 samples (64 samples of the previous window, then 512 new):
///   reflect-pad 128 each side -> STFT as a Conv1d with a fixed [258, 1, 256] basis, stride 128
///   -> drop the first frame -> magnitude of 129 bins x 4 frames
///   -> 4 x (Conv1d k3 pad1 + ReLU): 129->128 s1, 128->64 s2, 64->64 s2, 64->128 s1  => [128] per window
///   -> one LSTM (hidden 128) whose time axis is the *window* axis (state carried across windows)
///   -> ReLU -> Conv1d 128->1 k1 -> sigmoid: the speech probability of the window.
/// The loader checks that the file holds exactly this graph (operators in order, strides, pads,
/// slice bounds, hidden size) and takes the weights by their role in it, so the exporter's tensor
/// names (`onnx::LSTM_209`) are not relied on; any other graph is refused naming the node.
///
/// Weights (1.2 MB) are copied once into one `PageBuffer` (`.weights`), aligned and in the layouts
/// the kernels take: the ONNX data lies unaligned in the protobuf, and the file is closed after.
public final class SileroVADModel: Sendable {
    public static let sampleRate = 16_000
    /// New samples per window, and samples of context carried from the previous one.
    public static let windowSamples = 512
    public static let contextSamples = 64
    static let inputSamples = windowSamples + contextSamples   // 576
    static let fftSize = 256, hop = 128, bins = 129, frames = 4
    static let hidden = 128
    /// Conv stack: (in, out, stride) per layer; kernel 3, padding 1.
    static let convs: [(cin: Int, cout: Int, stride: Int)] = [(129, 128, 1), (128, 64, 2), (64, 64, 2), (64, 128, 1)]

    public let path: String
    let storage: PageBuffer
    /// Float offsets into `storage` of each weight.
    let basis: Int                 // [258, 256]: rows 0..<129 real, 129..<258 imaginary
    let convWeight: [Int]          // [cout, 3, cin] (ONNX: [cout, cin, 3]; rows as im2col lays them out)
    let convBias: [Int]            // [cout]
    let lstmInput: Int             // W [512, 128], gates i, o, f, c
    let lstmRecurrent: Int         // R [512, 128]
    let lstmBias: Int              // Wb [512] then Rb [512]
    let outWeight: Int             // [128]
    let outBias: Int               // [1]

    /// Loads and checks `path`. Errors: `.onnx` (file, graph), `.missingTensor`, `.shapeMismatch`.
    public init(path: String) throws(ModelError) {
        let file: ONNXFile
        do { file = try ONNXFile(path: path) } catch { throw .onnx(error) }
        defer { file.close() }
        let graph = try SileroVADGraph(file)
        self.path = path
        var tensors: [(ONNXTensor, [Int])] = [(graph.basis, [258, 1, 256])]
        for (i, c) in Self.convs.enumerated() {
            tensors.append((graph.convWeights[i], [c.cout, c.cin, 3]))
            tensors.append((graph.convBiases[i], [c.cout]))
        }
        tensors += [(graph.lstmW, [1, 512, 128]), (graph.lstmR, [1, 512, 128]), (graph.lstmB, [1, 1024]),
                    (graph.outWeight, [1, 128, 1]), (graph.outBias, [1])]
        for (t, shape) in tensors {
            guard t.dataType == ONNXTensor.float32 else { throw .unsupportedDType(tensor: t.name, dtype: "ONNX type \(t.dataType)") }
            guard t.shape == shape else { throw .shapeMismatch(tensor: t.name, expected: shape, actual: t.shape) }
        }
        let total = tensors.reduce(0) { $0 + $1.0.elementCount }
        do { storage = try PageBuffer(byteCount: total * 4, owner: .weights) } catch { throw .weights(error) }
        var offsets: [Int] = []
        var at = 0
        let dst = storage.floats()
        for (t, shape) in tensors {
            let src = file.data(t)
            // Little-endian floats at any alignment; copied through memcpy.
            UnsafeMutableRawPointer(dst + at).copyMemory(from: src.baseAddress!, byteCount: src.count)
            if shape.count == 3, shape[2] == 3 { Self.kernelMajor(dst + at, cout: shape[0], cin: shape[1]) }
            offsets.append(at)
            at += t.elementCount
        }
        basis = offsets[0]
        convWeight = (0..<4).map { offsets[1 + 2 * $0] }
        convBias = (0..<4).map { offsets[2 + 2 * $0] }
        lstmInput = offsets[9]
        lstmRecurrent = offsets[10]
        lstmBias = offsets[11]
        outWeight = offsets[12]
        outBias = offsets[13]
    }

    /// [cout, cin, 3] -> [cout, 3, cin] in place (one row at a time through a small buffer).
    private static func kernelMajor(_ w: UnsafeMutablePointer<Float>, cout: Int, cin: Int) {
        var row = [Float](repeating: 0, count: cin * 3)
        for o in 0..<cout {
            let r = w + o * cin * 3
            for i in 0..<cin { for k in 0..<3 { row[k * cin + i] = r[i * 3 + k] } }
            r.update(from: row, count: cin * 3)
        }
    }

    /// Bytes the weights take.
    public var weightBytes: Int { storage.byteCount }

    /// Releases the weights now; the model must not be used after. Idempotent.
    public func close() { storage.close() }

    func weights(_ offset: Int) -> UnsafePointer<Float> { UnsafePointer(storage.floats() + offset) }
}
