import EarshotRuntime
import EarshotTensor
import Testing
@testable import EarshotBench

/// Sanity only: the probes run, give positive finite figures, and refuse sizes they cannot measure.
/// (No speed thresholds: the machine is shared.)
@Suite(.serialized) struct MachineProbeTests {
    @Test func smallProbesGivePlausibleFigures() throws {
        let bandwidth = try MachineProbe.readBandwidth(bytes: 8 << 20, threads: 2, passes: 2)
        #expect(bandwidth > 0.1 && bandwidth.isFinite)
        let gflops = try MachineProbe.sgemmGFLOPS(m: 128, n: 96, k: 64, passes: 2)
        #expect(gflops > 0.1 && gflops.isFinite)
        let both = try MachineProbe.measure(readBytes: 4 << 20, threads: 1, gemmSize: 64, passes: 1)
        #expect(both.readBandwidthGBPerS > 0.1 && both.sgemmGFLOPS > 0.1)
    }

    @Test func computeProbesGiveOneFigurePerKernel() throws {
        let shape = ComputeBenchmark.Shape(name: "small", rows: 20, inFeatures: 64, outFeatures: 32)
        // Only the level in force: changing it would change the paths of tests running beside this one.
        let rows = try ComputeBenchmark.gemm(shape, passes: 1, levels: [CPUFeatures.level])
        #expect(rows.map(\.path) == ["q8_0 \(CPUFeatures.level)", "bf16 panel", "f32 sgemm"])
        #expect(ComputeBenchmark.q8Levels.first == max(CPUFeatures.bestLevel, .portable))
        #expect(rows.allSatisfy { $0.gigaOpsPerSecond > 0 && $0.gigaOpsPerSecond.isFinite })
        #if arch(x86_64)
        if CPUFeatures.hasAVX2 {
            let peaks = try ComputeBenchmark.peaks(threads: 2, passes: 1)
            #expect(peaks.count == (CPUFeatures.hasAVX512VNNI ? 3 : 2) && peaks.allSatisfy { $0.gigaOpsPerSecond > 0.1 && $0.gigaOpsPerSecond.isFinite })
        }
        #endif
    }

    @Test func unmeasurableSizesAreTypedErrors() {
        #expect(throws: MachineProbeError.self) { try MachineProbe.readBandwidth(bytes: 100, threads: 4) }
        #expect(throws: MachineProbeError.self) { try MachineProbe.sgemmGFLOPS(m: 0, n: 8, k: 8) }
    }
}
