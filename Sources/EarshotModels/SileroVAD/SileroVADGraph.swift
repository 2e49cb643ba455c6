import EarshotTensor

/// The check that an ONNX file is Silero VAD v6's 16 kHz graph (see `SileroVADModel`), and the
/// weight tensors found by their place in it. Refuses anything else with the node at fault.
struct SileroVADGraph {
    let basis: ONNXTensor
    let convWeights: [ONNXTensor]
    let convBiases: [ONNXTensor]
    let lstmW: ONNXTensor, lstmR: ONNXTensor, lstmB: ONNXTensor
    let outWeight: ONNXTensor, outBias: ONNXTensor

    /// Operators, in file order.
    static let operators = ["Pad", "Unsqueeze", "Conv", "Slice", "Slice", "Pow", "Pow", "Add", "Sqrt",
                            "Conv", "Relu", "Conv", "Relu", "Conv", "Relu", "Conv", "Relu",
                            "Transpose", "LSTM", "Squeeze", "Relu", "Transpose", "Conv", "Sigmoid", "Reshape"]

    init(_ file: ONNXFile) throws(ModelError) {
        let path = file.path
        func fail(_ node: String, _ reason: String) -> ModelError {
            .onnx(.unexpectedGraph(path: path, node: node, reason: reason))
        }
        let nodes = file.nodes
        let ops = nodes.map(\.opType)
        guard ops == Self.operators else {
            let i = ops.indices.first { $0 >= Self.operators.count || ops[$0] != Self.operators[$0] } ?? ops.count
            let found = i < ops.count ? ops[i] : "the end of the graph"
            let wanted = i < Self.operators.count ? Self.operators[i] : "the end of the graph"
            throw fail("node \(i)", "found \(found) where Silero VAD v6 has \(wanted) (\(ops.count) nodes)")
        }
        // Graph inputs: input [N, 576], h and c [1, 1, 128].
        let inputs = Dictionary(file.inputs.map { ($0.name, $0.dims) }, uniquingKeysWith: { a, _ in a })
        guard let x = inputs["input"], x.count == 2, x[1] == SileroVADModel.inputSamples else {
            throw fail("graph", "input 'input' should be [windows, \(SileroVADModel.inputSamples)] (16 kHz model)")
        }
        for s in ["h", "c"] where inputs[s] != [1, 1, 128] {
            throw fail("graph", "input '\(s)' should be [1, 1, 128]")
        }
        func tensor(_ node: Int, input: Int) throws(ModelError) -> ONNXTensor {
            let n = nodes[node]
            guard input < n.inputs.count, let t = file.tensors[n.inputs[input]] else {
                throw .missingTensor(name: "input \(input) of \(n.opType) node \(node) ('\(n.name)')")
            }
            return t
        }
        func ints(_ node: Int, _ name: String) -> [Int64]? { nodes[node].attributes[name]?.ints }
        func label(_ i: Int) -> String { "\(nodes[i].opType) node \(i) ('\(nodes[i].name)')" }

        // Reflect padding of 128 samples on each side of the time axis.
        guard nodes[0].attributes["mode"]?.string == "reflect",
              try tensor(0, input: 1).int64Values == [0, 128, 0, 128] else {
            throw fail(label(0), "expected reflect padding [0, 128, 0, 128]")
        }
        // The STFT convolution, and the slices keeping frames 1... of the real and imaginary halves.
        guard ints(2, "kernel_shape") == [256], ints(2, "strides") == [128], (ints(2, "pads") ?? [0, 0]) == [0, 0] else {
            throw fail(label(2), "expected kernel 256, stride 128, no padding")
        }
        let big = Int64.max
        let slices: [[[Int64]]] = [[[0, 1], [129, big], [1, 2], [1, 1]], [[129, 1], [big, big], [1, 2], [1, 1]]]
        for (k, bounds) in slices.enumerated() {
            for (j, expected) in bounds.enumerated() where try tensor(3 + k, input: 1 + j).int64Values != expected {
                throw fail(label(3 + k), "expected slice starts/ends/axes/steps \(bounds)")
            }
        }
        // Encoder convolutions: kernel 3, padding 1, strides 1, 2, 2, 1.
        var weights: [ONNXTensor] = [], biases: [ONNXTensor] = []
        for (i, node) in [9, 11, 13, 15].enumerated() {
            let stride = Int64(SileroVADModel.convs[i].stride)
            guard ints(node, "kernel_shape") == [3], ints(node, "strides") == [stride], ints(node, "pads") == [1, 1],
                  (ints(node, "dilations") ?? [1]) == [1], (nodes[node].attributes["group"]?.int ?? 1) == 1 else {
                throw fail(label(node), "expected kernel 3, stride \(stride), padding 1")
            }
            weights.append(try tensor(node, input: 1))
            biases.append(try tensor(node, input: 2))
        }
        guard ints(17, "perm") == [0, 2, 1], ints(21, "perm") == [1, 2, 0] else {
            throw fail(label(17), "unexpected transposes")
        }
        let lstm = nodes[18]
        guard lstm.attributes["hidden_size"]?.int == 128, (lstm.attributes["direction"]?.string ?? "forward") == "forward",
              lstm.inputs.count == 7, lstm.inputs[5] == "h", lstm.inputs[6] == "c" else {
            throw fail(label(18), "expected a forward LSTM of hidden size 128 fed by inputs h and c")
        }
        guard ints(22, "kernel_shape") == [1] else { throw fail(label(22), "expected kernel 1") }
        basis = try tensor(2, input: 1)
        convWeights = weights
        convBiases = biases
        lstmW = try tensor(18, input: 1)
        lstmR = try tensor(18, input: 2)
        lstmB = try tensor(18, input: 3)
        outWeight = try tensor(22, input: 1)
        outBias = try tensor(22, input: 2)
        // Every initializer is one of the above or a small constant read here: nothing unexplained.
        let used = Set(nodes.flatMap(\.inputs))
        if let extra = file.tensors.keys.sorted().first(where: { !used.contains($0) }) {
            throw .unexpectedTensor(name: extra)
        }
    }
}
