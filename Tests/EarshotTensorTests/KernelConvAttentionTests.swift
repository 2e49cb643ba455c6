import Foundation
import Testing
import EarshotTensor
import EarshotTestSupport

@Suite struct KernelConvAttentionTests {
    @Test(arguments: [(1, 1, 1, 1), (1, 5, 7, 2), (3, 8, 9, 4), (2, 33, 16, 5), (4, 128, 13, 3)])
    func conv2dMatchesDirect(cin: Int, h: Int, w: Int, cout: Int) {
        var r = SeededRandom(seed: 50)
        let input = r.floats(cin * h * w), weight = r.floats(cout * cin * 9), bias = r.floats(cout)
        let ho = Kernels.conv2dOutputSize(h), wo = Kernels.conv2dOutputSize(w)
        #expect(ho == (h + 2 - 3) / 2 + 1 && wo == (w + 2 - 3) / 2 + 1)
        var want = [Double](repeating: 0, count: cout * ho * wo)
        for o in 0..<cout {
            for oy in 0..<ho {
                for ox in 0..<wo {
                    var s = Double(bias[o])
                    for c in 0..<cin {
                        for ky in 0..<3 {
                            for kx in 0..<3 {
                                let iy = 2 * oy + ky - 1, ix = 2 * ox + kx - 1
                                if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                                s += Double(input[(c * h + iy) * w + ix]) * Double(weight[((o * cin + c) * 3 + ky) * 3 + kx])
                            }
                        }
                    }
                    want[(o * ho + oy) * wo + ox] = s
                }
            }
        }
        let ib = Buffer(input), wb = Buffer(weight), bb = Buffer(bias)
        let out = Buffer<Float>(repeating: .nan, count: cout * ho * wo)
        let scratch = Buffer<Float>(repeating: .nan, count: cin * 9 * ho * wo)
        Kernels.conv2d3x3s2(input: ib.p, channels: cin, height: h, width: w, weight: wb.p, bias: bb.p,
                            outChannels: cout, output: out.p, scratch: scratch.p)
        expectClose(out.array, want, tol: 2e-5, scale: 0.3, "conv \(cin)x\(h)x\(w)->\(cout)")
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var lq: Int, lk: Int, qHeads: Int, kvHeads: Int, headDim: Int
        var causal = false, queryOffset = 0
        var windows: [Int]? = nil
        var pad = 0  // extra floats per token row in q/kv/out
        var testDescription: String { "lq\(lq) lk\(lk) h\(qHeads)/\(kvHeads) d\(headDim) causal\(causal)@\(queryOffset) win\(windows?.count ?? 0)" }
    }

    static let cases: [Case] = [
        Case(lq: 1, lk: 1, qHeads: 1, kvHeads: 1, headDim: 1),
        Case(lq: 1, lk: 33, qHeads: 4, kvHeads: 2, headDim: 7, pad: 3),
        Case(lq: 1, lk: 1025, qHeads: 8, kvHeads: 8, headDim: 128, causal: true, queryOffset: 1024),
        Case(lq: 7, lk: 7, qHeads: 2, kvHeads: 2, headDim: 16, causal: true),
        Case(lq: 5, lk: 37, qHeads: 6, kvHeads: 2, headDim: 64, causal: true, queryOffset: 32, pad: 5),
        Case(lq: 129, lk: 129, qHeads: 3, kvHeads: 3, headDim: 33, windows: [0, 50, 104, 129]),
        Case(lq: 300, lk: 300, qHeads: 4, kvHeads: 4, headDim: 64, windows: [0, 104, 208, 300]),
        Case(lq: 20, lk: 20, qHeads: 2, kvHeads: 1, headDim: 8, causal: true, windows: [0, 8, 16, 20]),
        Case(lq: 200, lk: 200, qHeads: 8, kvHeads: 4, headDim: 64, causal: true),
        // Blocked path: a prefill block after cached keys, GQA, padded rows; windows with a causal mask.
        Case(lq: 100, lk: 356, qHeads: 4, kvHeads: 2, headDim: 128, causal: true, queryOffset: 256, pad: 3),
        Case(lq: 70, lk: 70, qHeads: 2, kvHeads: 2, headDim: 16, causal: true, windows: [0, 33, 34, 70]),
        Case(lq: 16, lk: 16, qHeads: 1, kvHeads: 1, headDim: 1, windows: [0, 1, 16]),
        // A few queries over shared keys (Whisper's beams in cross-attention): heads of 64, 8, 40
        // (a 32-column tile and an 8-column one) and 96; keys not a multiple of 4; GQA; padded rows.
        Case(lq: 5, lk: 1500, qHeads: 8, kvHeads: 8, headDim: 64),
        Case(lq: 2, lk: 1499, qHeads: 4, kvHeads: 2, headDim: 8, pad: 3),
        Case(lq: 8, lk: 3, qHeads: 6, kvHeads: 3, headDim: 40, pad: 1),
        Case(lq: 7, lk: 37, qHeads: 2, kvHeads: 2, headDim: 96),
        // One decode query with grouped heads (every key visible): a KV head's heads as its queries.
        Case(lq: 1, lk: 130, qHeads: 16, kvHeads: 8, headDim: 128, causal: true, queryOffset: 129),
        Case(lq: 1, lk: 37, qHeads: 8, kvHeads: 2, headDim: 64, causal: true, queryOffset: 36, pad: 3),
        // ... and one that sees only part of the keys (not that path).
        Case(lq: 1, lk: 40, qHeads: 4, kvHeads: 2, headDim: 16, causal: true, queryOffset: 20),
    ]

    @Test(arguments: cases)
    func attentionMatchesReference(_ c: Case) {
        var r = SeededRandom(seed: 60)
        let qStride = c.qHeads * c.headDim + c.pad
        let kvStride = c.kvHeads * c.headDim + c.pad
        let outStride = c.qHeads * c.headDim + c.pad
        let q = r.floats(c.lq * qStride, scale: 2), k = r.floats(c.lk * kvStride, scale: 2), v = r.floats(c.lk * kvStride)
        let scale = 1 / Float(c.headDim).squareRoot()
        let group = c.qHeads / c.kvHeads
        var want = [Double](repeating: .nan, count: c.lq * outStride)
        for t in 0..<c.lq {
            var lo = 0, hi = c.lk
            if c.causal { hi = min(hi, c.queryOffset + t + 1) }
            if let w = c.windows {
                for i in 0..<(w.count - 1) where w[i] <= t && t < w[i + 1] { lo = max(lo, w[i]); hi = min(hi, w[i + 1]) }
            }
            for h in 0..<c.qHeads {
                let kvh = h / group
                var s = [Double]()
                for j in lo..<hi {
                    var d = 0.0
                    for i in 0..<c.headDim { d += Double(q[t * qStride + h * c.headDim + i]) * Double(k[j * kvStride + kvh * c.headDim + i]) }
                    s.append(d * Double(scale))
                }
                let m = s.max()!
                let e = s.map { Foundation.exp($0 - m) }
                let z = e.reduce(0, +)
                for i in 0..<c.headDim {
                    var o = 0.0
                    for (n, j) in (lo..<hi).enumerated() { o += e[n] / z * Double(v[j * kvStride + kvh * c.headDim + i]) }
                    want[t * outStride + h * c.headDim + i] = o
                }
            }
        }
        let qb = Buffer(q), kb = Buffer(k), vb = Buffer(v)
        let out = Buffer<Float>(repeating: .nan, count: c.lq * outStride)
        let scratch = Buffer<Float>(repeating: .nan, count: Kernels.attentionScratchCount(lk: c.lk))
        let windows = c.windows.map { Buffer($0) }
        Kernels.attention(q: qb.p, qStride: qStride, k: kb.p, v: vb.p, kvStride: kvStride, out: out.p, outStride: outStride,
                          lq: c.lq, lk: c.lk, qHeads: c.qHeads, kvHeads: c.kvHeads, headDim: c.headDim, scale: scale,
                          causal: c.causal, queryOffset: c.queryOffset,
                          windows: windows.map { UnsafeBufferPointer(start: $0.p, count: $0.count) }, scratch: scratch.p)
        // Compare only the real (non-padding) outputs; padding must be untouched.
        var got: [Float] = [], ref: [Double] = []
        for t in 0..<c.lq {
            for i in 0..<(c.qHeads * c.headDim) {
                got.append(out[t * outStride + i])
                ref.append(want[t * outStride + i])
            }
            for i in (c.qHeads * c.headDim)..<outStride { #expect(out[t * outStride + i].isNaN) }
        }
        expectClose(got, ref, tol: 2e-5, scale: 0.05, c.testDescription)
    }
}
