import Testing
import EarshotTensor
import EarshotTestSupport

@Suite struct KernelSmokeTests {
    @Test func argmaxFirst() {
        let x: [Float] = [1, 3, 2, 3]
        #expect(x.withUnsafeBufferPointer { Kernels.argmax($0.baseAddress!, count: 4) } == 1)
    }
}
