import Foundation
import Testing
import EarshotTensor
import EarshotTestSupport

/// Naive IEEE binary16 decoding.
func referenceHalf(_ h: UInt16) -> Float {
    let sign: Float = (h & 0x8000) != 0 ? -1 : 1
    let e = Int((h >> 10) & 0x1F)
    let m = Int(h & 0x3FF)
    if e == 0 { return sign * Float(m) * Float(Foundation.pow(2.0, -24.0)) }
    if e == 31 { return m == 0 ? sign * .infinity : .nan }
    return sign * Float((1 + Double(m) / 1024) * Foundation.pow(2.0, Double(e - 15)))
}

@Suite struct KernelConvertTests {
    @Test func f16ToF32Exhaustive() {
        let src = Buffer((0...0xFFFF).map { UInt16($0) })
        let dst = Buffer<Float>(repeating: 0, count: 65536)
        Kernels.f16ToF32(src.p, dst.p, count: 65536)
        for i in 0..<65536 {
            let want = referenceHalf(UInt16(i))
            let got = dst[i]
            if want.isNaN {
                #expect(got.isNaN, "half \(i)")
                // Payload and sign preserved.
                #expect(got.bitPattern == ((UInt32(i) & 0x8000) << 16) | 0x7F80_0000 | ((UInt32(i) & 0x3FF) << 13))
            } else {
                #expect(got.bitPattern == want.bitPattern, "half \(String(i, radix: 16)): \(got) vs \(want)")
            }
        }
    }

    @Test func f32ToF16RoundTripAndTies() {
        // Every non-NaN half survives a round trip.
        let halves = (0...0xFFFF).map { UInt16($0) }.filter { !referenceHalf($0).isNaN }
        let values = Buffer(halves.map(referenceHalf))
        let back = Buffer<UInt16>(repeating: 0, count: halves.count)
        Kernels.f32ToF16(values.p, back.p, count: halves.count)
        #expect(back.array == halves)

        // Between consecutive positive halves a < b: the midpoint rounds to the even one, and
        // values just below / above it go to a / b.
        var probes: [Float] = []
        var expected: [UInt16] = []
        for a in UInt16(0)..<0x7BFF {
            let b = a + 1
            let fa = referenceHalf(a), fb = referenceHalf(b)
            let mid = (fa + fb) / 2  // exact in Float
            probes += [mid, mid.nextDown, mid.nextUp, -mid]
            let even = (a & 1) == 0 ? a : b
            expected += [even, a, b, even | 0x8000]
        }
        // Overflow and specials.
        probes += [65504, 65519.99, 65520, 1e10, -1e10, .infinity, -.infinity, 0, -0.0, 1e-10, -1e-10, 2.9802322e-08, 2.9802326e-08]
        expected += [0x7BFF, 0x7BFF, 0x7C00, 0x7C00, 0xFC00, 0x7C00, 0xFC00, 0, 0x8000, 0, 0x8000, 0, 1]
        let p = Buffer(probes)
        let out = Buffer<UInt16>(repeating: 0, count: probes.count)
        Kernels.f32ToF16(p.p, out.p, count: probes.count)
        var mismatches = 0
        for i in 0..<probes.count where out[i] != expected[i] {
            mismatches += 1
            if mismatches < 5 {
                Issue.record("f32ToF16(\(probes[i])) = \(String(out[i], radix: 16)), want \(String(expected[i], radix: 16))")
            }
        }
        #expect(mismatches == 0)

        let nan = Buffer<Float>([.nan, -.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC1_2345)])
        let nanOut = Buffer<UInt16>(repeating: 0, count: 4)
        Kernels.f32ToF16(nan.p, nanOut.p, count: 4)
        for i in 0..<4 { #expect(referenceHalf(nanOut[i]).isNaN) }
        #expect(nanOut[1] & 0x8000 != 0)
    }

    @Test func bf16ToF32IsShift() {
        var r = SeededRandom(seed: 3)
        for n in [0, 1, 7, 16, 33, 129] {
            let bits = (0..<n).map { _ in UInt16(truncatingIfNeeded: r.next()) }
            let src = Buffer(bits)
            let dst = Buffer<Float>(repeating: 0, count: n)
            Kernels.bf16ToF32(src.p, dst.p, count: n)
            for i in 0..<n { #expect(dst[i].bitPattern == UInt32(bits[i]) << 16) }
        }
    }

    /// Naive round-to-nearest-even to bf16 by comparing distances to both neighbours in Double.
    func referenceBF16(_ x: Float) -> UInt16 {
        if x.isNaN { return 0x7FC0 }
        let lo = UInt16(truncatingIfNeeded: x.bitPattern >> 16)
        if x.isInfinite { return lo }
        let hi = lo &+ 1
        let dl = abs(abs(Double(bf16Value(lo))) - abs(Double(x)))
        let hv = bf16Value(hi)
        // Past the largest finite bf16, infinity stands in for the next value, 2^128.
        let dh = hv.isNaN ? Double.infinity : abs((hv.isInfinite ? Foundation.pow(2.0, 128) : abs(Double(hv))) - abs(Double(x)))
        if dl < dh { return lo }
        if dh < dl { return hi }
        return (lo & 1) == 0 ? lo : hi
    }

    @Test func f32ToBF16RoundsToNearestEven() {
        var r = SeededRandom(seed: 5)
        var values: [Float] = (0..<20000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: r.next())) }.filter { !$0.isNaN }
        // Exact ties and near-ties, denormals, extremes.
        for _ in 0..<2000 {
            let base = UInt32(truncatingIfNeeded: r.next()) & 0x7F7F_0000
            values += [Float(bitPattern: base | 0x8000), Float(bitPattern: base | 0x18000),
                       Float(bitPattern: base | 0x7FFF), Float(bitPattern: base | 0x8001)]
        }
        values += [0, -0.0, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity,
                   .leastNonzeroMagnitude, Float(bitPattern: 0x7F7F_8000), 1, -1, 3.14159]
        let src = Buffer(values)
        let dst = Buffer<UInt16>(repeating: 0, count: values.count)
        Kernels.f32ToBF16(src.p, dst.p, count: values.count)
        var bad = 0
        for i in 0..<values.count where dst[i] != referenceBF16(values[i]) {
            bad += 1
            if bad < 5 { Issue.record("bf16(\(values[i])) = \(dst[i]) want \(referenceBF16(values[i]))") }
        }
        #expect(bad == 0)

        let nans = Buffer<Float>([.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFF80_0001), Float(bitPattern: 0x7FFF_FFFF)])
        let nanOut = Buffer<UInt16>(repeating: 0, count: 4)
        Kernels.f32ToBF16(nans.p, nanOut.p, count: 4)
        for i in 0..<4 { #expect(bf16Value(nanOut[i]).isNaN, "NaN \(i) -> \(nanOut[i])") }
        #expect(nanOut[2] & 0x8000 != 0)
    }
}
