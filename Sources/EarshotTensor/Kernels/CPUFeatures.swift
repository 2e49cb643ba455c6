import CEarshotKernels
import Foundation
import Synchronization

/// A family of kernel variants, each needing the instructions of the ones below it.
public enum KernelLevel: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
    /// Swift SIMD, any CPU.
    case portable = 0
    /// AVX2 + FMA + F16C (C kernels).
    case avx2 = 1
    /// AVX-512 F/BW/VL/DQ + AVX-512 VNNI: the int8 q8_0 GEMM and matvec (vpdpbusd) on top of the AVX2 kernels.
    case avx512 = 2

    public static func < (a: KernelLevel, b: KernelLevel) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512-vnni"
        }
    }

    /// Parses `portable`, `avx2`, `avx512` / `avx512-vnni` (for `EARSHOT_KERNELS`).
    public init?(name: String) {
        switch name.lowercased() {
        case "portable": self = .portable
        case "avx2": self = .avx2
        case "avx512", "avx512-vnni", "avx512vnni": self = .avx512
        default: return nil
        }
    }
}

/// What the CPU offers the C kernels, checked once, and the level the kernels run at.
///
/// The level starts at the best the CPU supports, lowered by `EARSHOT_KERNELS=portable|avx2|avx512`
/// (a level above the CPU's is ignored; `EARSHOT_PORTABLE_KERNELS=1` is the older spelling of
/// `portable`), so one machine can run and test every lower path.
public enum CPUFeatures {
    /// The CPU has AVX2 + FMA + F16C (x86_64).
    public static let hasAVX2: Bool = ek_cpu_has_avx2_fma() != 0
    /// The CPU has AVX-512 F/BW/VL/DQ and VNNI (x86_64).
    public static let hasAVX512VNNI: Bool = ek_cpu_has_avx512_vnni() != 0

    /// The highest level this CPU runs.
    public static let bestLevel: KernelLevel = hasAVX512VNNI ? .avx512 : hasAVX2 ? .avx2 : .portable

    /// The level `EARSHOT_KERNELS` asks for (nil when unset or unknown).
    public static let requestedLevel: KernelLevel? = {
        let env = ProcessInfo.processInfo.environment
        if env["EARSHOT_PORTABLE_KERNELS"] == "1" { return .portable }
        return env["EARSHOT_KERNELS"].flatMap(KernelLevel.init(name:))
    }()

    private static let current = Atomic<Int>(min(bestLevel, requestedLevel ?? bestLevel).rawValue)

    /// The level kernels run at now.
    public static var level: KernelLevel { KernelLevel(rawValue: current.load(ordering: .relaxed)) ?? .portable }

    /// Whether kernels take their AVX2 paths. When false, every kernel takes its portable Swift path.
    @inline(__always)
    public static var avx2: Bool { current.load(ordering: .relaxed) >= KernelLevel.avx2.rawValue }

    /// Whether the q8_0 GEMM and matvec take their AVX-512 VNNI paths.
    @inline(__always)
    public static var avx512: Bool { current.load(ordering: .relaxed) >= KernelLevel.avx512.rawValue }

    /// Sets the level (clamped to the CPU's best) and returns the one in force; for tests and
    /// benchmarks that compare paths. Call it while no kernel is running.
    @discardableResult
    public static func use(_ level: KernelLevel) -> KernelLevel {
        let chosen = min(level, bestLevel)
        current.store(chosen.rawValue, ordering: .relaxed)
        return chosen
    }

    /// The levels this CPU can run, lowest first.
    public static var availableLevels: [KernelLevel] { KernelLevel.allCases.filter { $0 <= bestLevel } }

    /// The OpenBLAS core type for the instructions of the level in force (see `blas_core.c`):
    /// "SkylakeX" on an AVX-512 CPU, "Haswell" on an AVX2 one or when `EARSHOT_KERNELS` keeps a
    /// VNNI CPU below its AVX-512 level (so the forced level's figures use no AVX-512 at all), nil
    /// when none fits.
    public static var openBLASCoreType: String? {
        guard let core = ek_openblas_coretype().map({ String(cString: $0) }) else { return nil }
        return core == "SkylakeX" && hasAVX512VNNI && !avx512 ? "Haswell" : core
    }
}
