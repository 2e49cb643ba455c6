import Testing
import EarshotTensor
import EarshotTestSupport

/// Owned test buffer with a stable pointer.
final class Buffer<T> {
    let p: UnsafeMutablePointer<T>
    let count: Int
    init(_ values: [T]) {
        count = values.count
        p = .allocate(capacity: max(count, 1))
        p.initialize(from: values, count: count)
    }
    init(repeating v: T, count: Int) {
        self.count = count
        p = .allocate(capacity: max(count, 1))
        p.initialize(repeating: v, count: max(count, 1))
    }
    deinit { p.deallocate() }
    var array: [T] { Array(UnsafeBufferPointer(start: p, count: count)) }
    subscript(i: Int) -> T {
        get { p[i] }
        set { p[i] = newValue }
    }
}

/// Asserts |got - want| <= tol * (scale + |want|) elementwise; scale defaults to 1e-3 of the largest |want|.
func expectClose(_ got: [Float], _ want: [Double], tol: Double, scale: Double? = nil,
                 _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == want.count, "\(what): count", sourceLocation: sourceLocation)
    let big = want.reduce(0) { max($0, abs($1)) }
    let s = scale ?? max(big * 1e-3, 1e-30)
    var worst = 0.0, worstIndex = -1
    for i in 0..<min(got.count, want.count) {
        let e = abs(Double(got[i]) - want[i]) / (s + abs(want[i]))
        if !(e <= worst) { worst = e; worstIndex = i }
    }
    #expect(worst <= tol, "\(what): worst relative error \(worst) at \(worstIndex): got \(worstIndex >= 0 ? got[worstIndex] : 0) want \(worstIndex >= 0 ? want[worstIndex] : 0)",
            sourceLocation: sourceLocation)
}

func bf16Bits(_ values: [Float]) -> [UInt16] {
    // Truncation is enough to make arbitrary test weights.
    values.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
}

func bf16Value(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

@Suite struct KernelSupportTests {
    @Test func argmaxFindsFirstMaximum() {
        var r = SeededRandom(seed: 11)
        for n in [1, 2, 7, 33, 1000] {
            var v = r.floats(n)
            let x = Buffer(v)
            var best = 0
            for i in 1..<max(n, 1) where v[i] > v[best] { best = i }
            #expect(Kernels.argmax(x.p, count: n) == best)
            if n > 3 {
                v[n - 1] = v[best]
                let y = Buffer(v)
                #expect(Kernels.argmax(y.p, count: n) == best)
            }
        }
        let ties = Buffer<Float>([1, 3, 2, 3])
        #expect(Kernels.argmax(ties.p, count: 4) == 1)
    }

    @Test func threadCountIsSettable() {
        let original = Kernels.threadCount
        #expect(original >= 1)
        Kernels.setThreadCount(1)
        #expect(Kernels.threadCount == 1)
        Kernels.setThreadCount(0)
        #expect(Kernels.threadCount == 1)
        Kernels.setThreadCount(original)
        #expect(Kernels.threadCount == original)
        #expect(Kernels.attentionScratchCount(lk: 10) >= original * 10)
    }
}
