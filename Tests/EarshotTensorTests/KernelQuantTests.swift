import Foundation
import Testing
@testable import EarshotTensor
import EarshotTestSupport

/// Block quantization: exact layouts, bounded rounding error, and the AVX2 and portable kernels
/// agreeing with a float64 reference on the dequantized weights.
@Suite struct KernelQuantTests {
    /// Quantizes `w [rows, cols]` and returns the blocks.
    func quantized(_ w: [Float], rows: Int, cols: Int, _ format: QuantFormat) -> [UInt8] {
        var q = [UInt8](repeating: 0, count: format.byteCount(rows: rows, cols: cols))
        w.withUnsafeBufferPointer { src in
            q.withUnsafeMutableBytes { Kernels.quantize(src.baseAddress!, rows: rows, cols: cols, format: format, into: $0.baseAddress!) }
        }
        return q
    }

    func dequantized(_ q: [UInt8], blocks: Int, _ format: QuantFormat, portable: Bool = false) -> [Float] {
        var out = [Float](repeating: .nan, count: blocks * 32)
        q.withUnsafeBytes { src in
            out.withUnsafeMutableBufferPointer {
                if portable {
                    Kernels.dequantizePortable(src.baseAddress!, blocks: blocks, format: format, into: $0.baseAddress!)
                } else {
                    Kernels.dequantize(src.baseAddress!, blocks: blocks, format: format, into: $0.baseAddress!)
                }
            }
        }
        return out
    }

    @Test func q8BlockLayoutIsGGMLs() {
        // Values k/2 for k in -16..<16: max |w| = 8, d = 8/127 (rounded to f16), q = round(w / d).
        let w = (0..<32).map { Float($0 - 16) / 2 }
        let q = quantized(w, rows: 1, cols: 32, .q8_0)
        #expect(q.count == 34)
        let d = Kernels.halfToFloat(UInt16(q[0]) | UInt16(q[1]) << 8)
        #expect(d == Kernels.halfToFloat(Kernels.floatToHalf(8 / 127)))
        for i in 0..<32 { #expect(Int8(bitPattern: q[2 + i]) == Int8((w[i] / d).rounded())) }
        #expect(Int8(bitPattern: q[2]) == -127)
    }

    @Test func q4BlockLayoutIsGGMLs() {
        // 0...15 then 15...0 in steps of one: d = 1, m = 0 exactly, so quants equal the values.
        let w = (0..<32).map { Float($0 < 16 ? $0 : 31 - $0) }
        let q = quantized(w, rows: 1, cols: 32, .q4_1)
        #expect(q.count == 20)
        #expect(Kernels.halfToFloat(UInt16(q[0]) | UInt16(q[1]) << 8) == 1)
        #expect(Kernels.halfToFloat(UInt16(q[2]) | UInt16(q[3]) << 8) == 0)
        for j in 0..<16 {
            #expect(q[4 + j] & 15 == UInt8(j))          // element j, low nibble
            #expect(q[4 + j] >> 4 == UInt8(15 - j))     // element j + 16, high nibble
        }
        #expect(dequantized(q, blocks: 1, .q4_1) == w)
    }

    @Test(arguments: QuantFormat.allCases)
    func roundingErrorIsWithinHalfAStep(_ format: QuantFormat) {
        var r = SeededRandom(seed: 81)
        let rows = 7, cols = 96
        let w = r.floats(rows * cols).map { $0 * 3 }
        let q = quantized(w, rows: rows, cols: cols, format)
        let fast = dequantized(q, blocks: rows * cols / 32, format)
        let portable = dequantized(q, blocks: rows * cols / 32, format, portable: true)
        #expect(fast == portable)
        for b in 0..<(rows * cols / 32) {
            let block = w[(b * 32)..<(b * 32 + 32)]
            let step = format == .q8_0 ? block.map(abs).max()! / 127 : (block.max()! - block.min()!) / 15
            for i in 0..<32 {
                #expect(abs(fast[b * 32 + i] - w[b * 32 + i]) <= step * 0.5 + step * 0.01 + 1e-6)
            }
        }
    }

    /// x quantized as the AVX2 kernels do (ggml q8_0 activations): per block d = max|x| / 127, q = round(x / d).
    func quantizedActivations(_ x: [Float]) -> (q: [Int], d: [Float]) {
        var q: [Int] = [], d: [Float] = []
        for b in 0..<(x.count / 32) {
            let block = x[(b * 32)..<(b * 32 + 32)]
            let scale = block.map(abs).max()! / 127
            d.append(scale)
            q += block.map { scale > 0 ? Int(($0 * (1 / scale)).rounded(.toNearestOrEven)) : 0 }
        }
        return (q, d)
    }

    // q8_0 shapes cover the AVX-512 decode kernel's pairs of 8-block groups: 1, 2, 3, 6 blocks
    // (one partial pair), 20 (a whole pair and a partial one) and 32 (two whole pairs) per row.
    @Test(arguments: [(QuantFormat.q8_0, 1, 32), (.q8_0, 3, 64), (.q8_0, 37, 96), (.q8_0, 5, 192),
                      (.q8_0, 9, 640), (.q8_0, 1024, 1024), (.q4_1, 3, 64),
                      (.q4_1, 515, 160), (.q4_1, 1024, 1024)])
    func matvecMatchesTheDequantizedReference(_ format: QuantFormat, rows: Int, cols: Int) {
        var r = SeededRandom(seed: UInt64(rows * 31 + cols))
        let w = r.floats(rows * cols), x = r.floats(cols), bias = r.floats(rows)
        let q = quantized(w, rows: rows, cols: cols, format)
        let deq = dequantized(q, blocks: rows * cols / 32, format)
        let (xq, xd) = quantizedActivations(x)
        // Exact: f32 x against the dequantized weights (the portable path). With int8 x (the AVX2
        // path): the same sum over quantized activations, and within the activations' rounding of exact.
        var exact = [Double](repeating: 0, count: rows), withInt8X = exact, rounding = exact
        for i in 0..<rows {
            for j in 0..<cols {
                let wij = Double(deq[i * cols + j])
                exact[i] += wij * Double(x[j])
                withInt8X[i] += wij * Double(xq[j]) * Double(xd[j / 32])
                rounding[i] += abs(wij) * Double(xd[j / 32]) / 2
            }
        }
        var fast = [Float](repeating: .nan, count: rows), portable = fast
        q.withUnsafeBytes { qp in
            Kernels.matvecQuantized(qp.baseAddress!, format: format, rows: rows, cols: cols, x: x, bias: bias, y: &fast)
            portable.withUnsafeMutableBufferPointer { y in
                switch format {
                case .q8_0: Kernels.matvecRowsQ8_0(qp.baseAddress!, cols: cols, x: x, y: y.baseAddress!, range: 0..<rows)
                case .q4_1: Kernels.matvecRowsQ4_1(qp.baseAddress!, cols: cols, x: x, y: y.baseAddress!, range: 0..<rows)
                }
            }
        }
        let int8Activations = CPUFeatures.avx2
        for i in 0..<rows {
            let tolerance = 1e-4 * (1 + abs(exact[i])) * Double(cols).squareRoot()
            #expect(abs(Double(portable[i]) - exact[i]) < tolerance, "row \(i) (portable)")
            let got = Double(fast[i]) - Double(bias[i])
            if int8Activations {
                #expect(abs(got - withInt8X[i]) < tolerance, "row \(i) (avx2 vs int8-x reference)")
                #expect(abs(got - exact[i]) <= rounding[i] + tolerance, "row \(i) (avx2 vs exact)")
            } else {
                #expect(abs(got - exact[i]) < tolerance, "row \(i) (fast = portable)")
            }
        }
    }

    /// Batches (prefill) dequantize tile by tile into a one-tile scratch: 1,100 x 1,024 is two tiles.
    /// 1,101 outputs end in a partial panel of the AVX2 kernel (on AVX-512 VNNI: the VNNI kernel's
    /// panels of 4, then the last output on the AVX2 panel kernel).
    @Test(arguments: QuantFormat.allCases, [1100, 1101])
    func batchesMatchTheDequantizedReference(_ format: QuantFormat, out: Int) {
        let (rows, cols) = (5, 1024)
        var r = SeededRandom(seed: 97)
        let w = r.floats(out * cols), x = r.floats(rows * cols), bias = r.floats(out)
        let q = quantized(w, rows: out, cols: cols, format)
        let deq = dequantized(q, blocks: out * cols / 32, format)
        let scratchCount = Kernels.weightTileScratchFloats(rows: out, cols: cols)
        #expect(scratchCount < out * cols && scratchCount >= 64 * cols)
        var scratch = [Float](repeating: .nan, count: scratchCount)
        var y = [Float](repeating: .nan, count: rows * out)
        q.withUnsafeBytes { qp in
            Kernels.linearQuantized(x, rows: rows, inFeatures: cols, weight: qp.baseAddress!, format: format,
                                    outFeatures: out, bias: bias, y: &y, scratch: &scratch)
        }
        // The AVX-512 VNNI q8_0 GEMM quantizes activations too: within their rounding of exact.
        let int8Activations = format == .q8_0 && CPUFeatures.avx512
        for i in 0..<rows {
            let (_, xd) = quantizedActivations(Array(x[(i * cols)..<((i + 1) * cols)]))
            for o in 0..<out {
                var s = Double(bias[o]), rounding = 0.0
                for j in 0..<cols {
                    s += Double(deq[o * cols + j]) * Double(x[i * cols + j])
                    rounding += abs(Double(deq[o * cols + j])) * Double(xd[j / 32]) / 2
                }
                #expect(abs(Double(y[i * out + o]) - s) < 1e-3 * (1 + abs(s)) + (int8Activations ? rounding : 0), "row \(i) out \(o)")
            }
        }
    }

    /// A decode batch's rows are bit-identical to each row's own matrix-vector product (batched and
    /// unbatched decoding pick the same tokens), for any number of rows, with and without a bias.
    @Test(arguments: QuantFormat.allCases)
    func batchedRowsEqualSingleRowsBitForBit(_ format: QuantFormat) {
        var r = SeededRandom(seed: 131)
        for (out, cols) in [(37, 640), (300, 1024), (8, 32)] {
            let w = quantized(r.floats(out * cols), rows: out, cols: cols, format), bias = r.floats(out)
            for count in [1, 2, 5, 8, 9, 17] {
                let x = r.floats(count * cols)
                var scratch = [UInt8](repeating: 0, count: Kernels.batchedMatVecScratchBytes(count: count, cols: cols))
                for withBias in [false, true] {
                    var batched = [Float](repeating: .nan, count: count * out)
                    var single = [Float](repeating: .nan, count: count * out)
                    w.withUnsafeBytes { wp in
                        scratch.withUnsafeMutableBytes { sp in
                            Kernels.matvecQuantizedBatch(wp.baseAddress!, format: format, rows: out, cols: cols, x: x,
                                                         count: count, bias: withBias ? bias : nil, y: &batched,
                                                         scratch: sp.baseAddress!)
                        }
                        for i in 0..<count {
                            single.withUnsafeMutableBufferPointer { y in
                                Array(x[i * cols..<(i + 1) * cols]).withUnsafeBufferPointer { xi in
                                    Kernels.matvecQuantized(wp.baseAddress!, format: format, rows: out, cols: cols,
                                                            x: xi.baseAddress!, bias: withBias ? bias : nil,
                                                            y: y.baseAddress! + i * out)
                                }
                            }
                        }
                    }
                    #expect(batched.map(\.bitPattern) == single.map(\.bitPattern),
                            "\(format) \(out)x\(cols), \(count) rows, bias \(withBias)")
                }
            }
        }
    }

    @Test func columnsMustBeWholeBlocks() {
        #expect(QuantFormat.canQuantize(cols: 1024))
        #expect(!QuantFormat.canQuantize(cols: 100))
        #expect(!QuantFormat.canQuantize(cols: 0))
        #expect(!QuantFormat.canQuantize(cols: QuantFormat.maxColumns + 32))
        #expect(QuantFormat.q8_0.byteCount(rows: 3, cols: 64) == 3 * 2 * 34)
        #expect(QuantFormat.q4_1.byteCount(rows: 3, cols: 64) == 3 * 2 * 20)
    }
}
