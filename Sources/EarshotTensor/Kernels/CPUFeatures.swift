import CEarshotKernels
import Foundation
import Synchronization

/// What the CPU offers the C kernels, checked once.
public enum CPUFeatures {
    /// The CPU has AVX2 + FMA + F16C (x86_64).
    public static let hasAVX2: Bool = ek_cpu_has_avx2_fma() != 0

    /// `EARSHOT_PORTABLE_KERNELS=1` starts with the portable paths (for tests and benchmarks).
    private static let enabled = Atomic<Bool>(hasAVX2 && ProcessInfo.processInfo.environment["EARSHOT_PORTABLE_KERNELS"] != "1")

    /// Whether kernels take their AVX2 paths. When false, every kernel takes its portable Swift path.
    @inline(__always)
    public static var avx2: Bool { enabled.load(ordering: .relaxed) }

    /// The OpenBLAS core type for this CPU's instructions (see `blas_core.c`), nil when none fits.
    public static var openBLASCoreType: String? { ek_openblas_coretype().map { String(cString: $0) } }

    /// Chooses the AVX2 paths (when the CPU has them) or the portable ones; for benchmarks that
    /// compare the two. Call it while no kernel is running.
    public static func useAVX2(_ on: Bool) { enabled.store(on && hasAVX2, ordering: .relaxed) }
}
