import CEarshotKernels
import Foundation

/// What the CPU offers the C kernels, checked once.
public enum CPUFeatures {
    /// AVX2 + FMA + F16C (x86_64). When false, every kernel takes its portable Swift path.
    /// `EARSHOT_PORTABLE_KERNELS=1` forces the portable paths (for tests and benchmarks).
    public static let avx2: Bool = {
        if let v = getenvString("EARSHOT_PORTABLE_KERNELS"), v == "1" { return false }
        return ek_cpu_has_avx2_fma() != 0
    }()

    private static func getenvString(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }
}
