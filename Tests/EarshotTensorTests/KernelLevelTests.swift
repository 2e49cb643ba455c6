import Foundation
import Testing
@testable import EarshotTensor
import EarshotTestSupport

/// Kernel levels: names, the CPU's ceiling, and the q8_0 GEMM at the level in force against the
/// reference that level promises. The suite runs once per level the machine has (`scripts/test`
/// sets `EARSHOT_KERNELS`), so every path is checked on one machine without flipping the level
/// under other tests running at the same time.
@Suite struct KernelLevelTests {
    @Test func levelsHaveNamesAndTheCPUIsTheCeiling() {
        #expect(KernelLevel(name: "portable") == .portable)
        #expect(KernelLevel(name: "AVX2") == .avx2)
        #expect(KernelLevel(name: "avx512") == .avx512 && KernelLevel(name: "avx512-vnni") == .avx512)
        #expect(KernelLevel(name: "sse9") == nil)
        #expect(KernelLevel.portable < .avx2 && .avx2 < .avx512)
        #expect(CPUFeatures.level <= CPUFeatures.bestLevel)
        #expect(CPUFeatures.availableLevels.last == CPUFeatures.bestLevel)
        #expect(CPUFeatures.hasAVX512VNNI ? CPUFeatures.hasAVX2 : true)
        if let requested = CPUFeatures.requestedLevel {
            #expect(CPUFeatures.level == min(requested, CPUFeatures.bestLevel))
        } else {
            #expect(CPUFeatures.level == CPUFeatures.bestLevel)
        }
        #expect(CPUFeatures.avx2 == (CPUFeatures.level >= .avx2))
        #expect(CPUFeatures.avx512 == (CPUFeatures.level >= .avx512))
    }

    /// x quantized as the int8 kernels do: per block d = max|x| / 127, q = round(x / d).
    static func int8Reference(x: [Float], deq: [Float], rows: Int, out: Int, cols: Int) -> (int8: [Double], exact: [Double], rounding: [Double]) {
        var int8 = [Double](repeating: 0, count: rows * out), exact = int8, rounding = int8
        for i in 0..<rows {
            var q = [Double](repeating: 0, count: cols), d = [Double](repeating: 0, count: cols / 32)
            for b in 0..<(cols / 32) {
                let block = x[(i * cols + b * 32)..<(i * cols + b * 32 + 32)]
                let scale = block.map(abs).max()! / 127
                d[b] = Double(scale)
                for (j, v) in block.enumerated() { q[b * 32 + j] = scale > 0 ? Double((v * (1 / scale)).rounded(.toNearestOrEven)) : 0 }
            }
            for o in 0..<out {
                for j in 0..<cols {
                    let w = Double(deq[o * cols + j])
                    int8[i * out + o] += w * q[j] * d[j / 32]
                    exact[i * out + o] += w * Double(x[i * cols + j])
                    rounding[i * out + o] += abs(w) * d[j / 32] / 2
                }
            }
        }
        return (int8, exact, rounding)
    }

    static func q8(_ w: [Float], rows: Int, cols: Int) -> (q: [UInt8], deq: [Float]) {
        var q = [UInt8](repeating: 0, count: QuantFormat.q8_0.byteCount(rows: rows, cols: cols))
        var deq = [Float](repeating: .nan, count: rows * cols)
        w.withUnsafeBufferPointer { src in
            q.withUnsafeMutableBytes { Kernels.quantize(src.baseAddress!, rows: rows, cols: cols, format: .q8_0, into: $0.baseAddress!) }
        }
        q.withUnsafeBytes { src in
            deq.withUnsafeMutableBufferPointer { Kernels.dequantizePortable(src.baseAddress!, blocks: rows * cols / 32, format: .q8_0, into: $0.baseAddress!) }
        }
        return (q, deq)
    }

    /// Shapes that reach every edge of the VNNI kernel: one block (a group mostly padding), a last
    /// group of 4 blocks (896 = 28 blocks), two panel passes over K (2,560 = 10 groups) with rows past
    /// one pass over A (130 > 126) and a last tile of one row.
    @Test(arguments: [(2, 4, 32), (7, 8, 896), (130, 20, 2560)])
    func q8GEMMAtTheLevelInForceMatchesItsReference(rows: Int, out: Int, cols: Int) {
        var r = SeededRandom(seed: UInt64(rows * 1000 + cols))
        // Mixed magnitudes per block, as hidden states have, so activation scales differ by block.
        let x = r.floats(rows * cols).enumerated().map { $0.element * (1 + Float(($0.offset / 32) % 5) * 3) }
        let w = r.floats(out * cols), bias = r.floats(out)
        let (q, deq) = Self.q8(w, rows: out, cols: cols)
        let ref = Self.int8Reference(x: x, deq: deq, rows: rows, out: out, cols: cols)
        var scratch = [Float](repeating: .nan, count: Kernels.weightTileScratchFloats(rows: out, cols: cols))
        var y = [Float](repeating: .nan, count: rows * out)
        q.withUnsafeBytes { qp in
            Kernels.linearQuantized(x, rows: rows, inFeatures: cols, weight: qp.baseAddress!, format: .q8_0,
                                    outFeatures: out, bias: bias, y: &y, scratch: &scratch)
        }
        for i in 0..<rows {
            for o in 0..<out {
                let got = Double(y[i * out + o]) - Double(bias[o]), k = i * out + o
                let tolerance = 1e-5 * (1 + abs(ref.exact[k])) * Double(cols).squareRoot()
                if CPUFeatures.avx512 {
                    #expect(abs(got - ref.int8[k]) < tolerance, "row \(i) out \(o): vnni vs int8-x reference")
                    #expect(abs(got - ref.exact[k]) <= ref.rounding[k] + tolerance, "row \(i) out \(o): vnni vs exact")
                } else {
                    #expect(abs(got - ref.exact[k]) < 10 * tolerance, "row \(i) out \(o): f32 activations vs exact")
                }
            }
        }
    }

    /// A scratch that holds 3 quantized rows: 10 rows go through in 4 chunks, with the same result
    /// as in one; a scratch smaller than one row declines (the caller falls back).
    @Test(.enabled(if: CPUFeatures.avx512)) func vnniGEMMWorksInChunksOfRows() {
        let (rows, out, cols) = (10, 8, 320)
        var r = SeededRandom(seed: 5)
        let x = r.floats(rows * cols), w = r.floats(out * cols)
        let (q, deq) = Self.q8(w, rows: out, cols: cols)
        let ref = Self.int8Reference(x: x, deq: deq, rows: rows, out: out, cols: cols)
        let rowBytes = (cols / 32 + 7) / 8 * (256 + 32)
        var scratch = [UInt8](repeating: 0xAB, count: 3 * rowBytes + rowBytes / 2)
        var chunked = [Float](repeating: 0, count: rows * out), whole = chunked
        q.withUnsafeBytes { qp in
            scratch.withUnsafeMutableBytes { s in
                #expect(Kernels.vnniGEMM(qp.baseAddress!, x: x, rows: rows, inFeatures: cols, outFeatures: out, y: &chunked,
                                         scratch: s.baseAddress!, scratchBytes: s.count))
                #expect(!Kernels.vnniGEMM(qp.baseAddress!, x: x, rows: rows, inFeatures: cols, outFeatures: out, y: &whole,
                                          scratch: s.baseAddress!, scratchBytes: rowBytes - 1))
            }
            var big = [UInt8](repeating: 0, count: rows * rowBytes)
            big.withUnsafeMutableBytes { s in
                #expect(Kernels.vnniGEMM(qp.baseAddress!, x: x, rows: rows, inFeatures: cols, outFeatures: out, y: &whole,
                                         scratch: s.baseAddress!, scratchBytes: s.count))
            }
        }
        #expect(chunked == whole)
        for k in 0..<(rows * out) { #expect(abs(Double(whole[k]) - ref.int8[k]) < 1e-4 * (1 + abs(ref.exact[k]))) }
    }

    /// Decode's fused q/k/v (three matrices, one pass) and gate/up (two): each row equals the
    /// separate product's, bit for bit, at the level in force.
    @Test(arguments: QuantFormat.allCases)
    func fusedMatvecEqualsSeparateProducts(_ format: QuantFormat) {
        let cols = 1024, rowsA = 2048, rowsB = 512, rowsC = 700
        var r = SeededRandom(seed: 17)
        let x = r.floats(cols)
        let ws = [rowsA, rowsB, rowsC].map { rows -> [UInt8] in
            var q = [UInt8](repeating: 0, count: format.byteCount(rows: rows, cols: cols))
            let w = r.floats(rows * cols)
            w.withUnsafeBufferPointer { src in
                q.withUnsafeMutableBytes { Kernels.quantize(src.baseAddress!, rows: rows, cols: cols, format: format, into: $0.baseAddress!) }
            }
            return q
        }
        var separate = [[Float]]()
        for (i, rows) in [rowsA, rowsB, rowsC].enumerated() {
            var y = [Float](repeating: .nan, count: rows)
            ws[i].withUnsafeBytes { Kernels.matvecQuantized($0.baseAddress!, format: format, rows: rows, cols: cols, x: x, bias: nil, y: &y) }
            separate.append(y)
        }
        // Three parts, then two (the third nil), each into its own output arrays.
        var a3 = [Float](repeating: .nan, count: rowsA), b3 = [Float](repeating: .nan, count: rowsB)
        var c3 = [Float](repeating: .nan, count: rowsC)
        var a2 = [Float](repeating: .nan, count: rowsA), b2 = [Float](repeating: .nan, count: rowsB)
        ws[0].withUnsafeBytes { w0 in
            ws[1].withUnsafeBytes { w1 in
                ws[2].withUnsafeBytes { w2 in
                    a3.withUnsafeMutableBufferPointer { y0 in
                        b3.withUnsafeMutableBufferPointer { y1 in
                            c3.withUnsafeMutableBufferPointer { y2 in
                                Kernels.matvecQuantized(QuantizedMatVecPart(w: w0.baseAddress!, rows: rowsA, y: y0.baseAddress!),
                                                        QuantizedMatVecPart(w: w1.baseAddress!, rows: rowsB, y: y1.baseAddress!),
                                                        QuantizedMatVecPart(w: w2.baseAddress!, rows: rowsC, y: y2.baseAddress!),
                                                        format: format, cols: cols, x: x)
                            }
                        }
                    }
                    a2.withUnsafeMutableBufferPointer { y0 in
                        b2.withUnsafeMutableBufferPointer { y1 in
                            Kernels.matvecQuantized(QuantizedMatVecPart(w: w0.baseAddress!, rows: rowsA, y: y0.baseAddress!),
                                                    QuantizedMatVecPart(w: w1.baseAddress!, rows: rowsB, y: y1.baseAddress!),
                                                    nil, format: format, cols: cols, x: x)
                        }
                    }
                }
            }
        }
        #expect([a3, b3, c3] == separate)
        #expect([a2, b2] == Array(separate.prefix(2)))
    }
}
