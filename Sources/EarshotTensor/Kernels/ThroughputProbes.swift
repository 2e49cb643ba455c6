import CEarshotKernels

extension Kernels {
    /// `iterations` x 12 ymm FMAs (192 flops per iteration) on one thread (AVX2 CPUs only; 0 elsewhere).
    /// The result only keeps the work from being optimised away.
    public static func probeFMA(iterations: Int) -> Float {
        #if arch(x86_64)
        guard CPUFeatures.hasAVX2 else { return 0 }
        return ek_probe_fma(Int64(iterations))
        #else
        return 0
        #endif
    }

    /// `iterations` x 256 int8 multiply-adds (vpmaddubsw, vpmaddwd, vpaddd) reading `buffer`
    /// (`bytes`: a power of two >= 64) on one thread (AVX2 CPUs only; 0 elsewhere).
    public static func probeInt8Dot(_ buffer: UnsafePointer<UInt8>, bytes: Int, iterations: Int) -> Int32 {
        #if arch(x86_64)
        guard CPUFeatures.hasAVX2, bytes >= 64, bytes & (bytes - 1) == 0 else { return 0 }
        return ek_probe_int8_dot(buffer, Int64(bytes), Int64(iterations))
        #else
        return 0
        #endif
    }

    /// The same multiply-adds with vpdpbusd (AVX-512 VNNI CPUs only; 0 elsewhere).
    public static func probeVNNIDot(_ buffer: UnsafePointer<UInt8>, bytes: Int, iterations: Int) -> Int32 {
        #if arch(x86_64)
        guard CPUFeatures.hasAVX512VNNI, bytes >= 64, bytes & (bytes - 1) == 0 else { return 0 }
        return ek_probe_vnni_dot(buffer, Int64(bytes), Int64(iterations))
        #else
        return 0
        #endif
    }
}
