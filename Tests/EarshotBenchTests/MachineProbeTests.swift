import EarshotRuntime
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

    @Test func unmeasurableSizesAreTypedErrors() {
        #expect(throws: MachineProbeError.self) { try MachineProbe.readBandwidth(bytes: 100, threads: 4) }
        #expect(throws: MachineProbeError.self) { try MachineProbe.sgemmGFLOPS(m: 0, n: 8, k: 8) }
    }
}
