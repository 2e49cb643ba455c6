import CEarshotKernels

extension Kernels {
    /// bfloat16 (as UInt16 bit patterns) to Float. Exact.
    public static func bf16ToF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        #if arch(x86_64)
        if CPUFeatures.avx2 {
            if count > 0 { ek_bf16_to_f32(src, dst, Int64(count)) }
            return
        }
        #endif
        var i = 0
        while i + 16 <= count {
            store8(loadBF16x8(src + i), dst + i)
            store8(loadBF16x8(src + i + 8), dst + i + 8)
            i += 16
        }
        while i < count {
            dst[i] = Float(bitPattern: UInt32(src[i]) &<< 16)
            i += 1
        }
    }

    @inline(__always)
    static func halfToFloat(_ h: UInt16) -> Float {
        let bits = UInt32(h)
        let sign = (bits & 0x8000) &<< 16
        let magnitude = (bits & 0x7FFF) &<< 13
        // Normal and subnormal halves: rebias by scaling with 2^112 (exact).
        var f = Float(bitPattern: magnitude) * 0x1p112
        if magnitude >= 0x0F80_0000 {  // exponent all ones: inf / nan
            f = Float(bitPattern: magnitude | 0x7F80_0000)
        }
        return Float(bitPattern: f.bitPattern | sign)
    }

    /// IEEE binary16 (as UInt16 bit patterns) to Float. Exact, including subnormals, infinities and NaNs.
    public static func f16ToF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i < count {
            dst[i] = halfToFloat(src[i])
            i += 1
        }
    }

    /// As `f16ToF32`, from bytes at any alignment (CTranslate2 files pack tensors at odd offsets).
    public static func f16ToF32(unaligned src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i < count {
            dst[i] = halfToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            i += 1
        }
    }

    @inline(__always)
    static func floatToBF16(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if (bits & 0x7FFF_FFFF) > 0x7F80_0000 {
            return UInt16(truncatingIfNeeded: bits &>> 16) | 0x0040  // quiet NaN, keeps sign and payload top
        }
        let rounded = bits &+ 0x7FFF &+ ((bits &>> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded &>> 16)
    }

    /// Float to bfloat16, round-to-nearest-even; NaN stays NaN, overflow rounds to infinity.
    public static func f32ToBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        var i = 0
        while i < count {
            dst[i] = floatToBF16(src[i])
            i += 1
        }
    }

    @inline(__always)
    static func floatToHalf(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits &>> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 {
            if magnitude == 0x7F80_0000 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: (magnitude &>> 13) & 0x3FF)
        }
        if magnitude >= 0x477F_F000 { return sign | 0x7C00 }  // >= 65520 rounds to infinity
        if magnitude < 0x3880_0000 {
            // Below the smallest normal half (2^-14): adding 0.5 aligns the ulp to 2^-24, the
            // subnormal half spacing, so the FPU does the round-to-nearest-even for us.
            let f = Float(bitPattern: magnitude) + 0.5
            return sign | UInt16(truncatingIfNeeded: f.bitPattern &- 0x3F00_0000)
        }
        let odd = (magnitude &>> 13) & 1
        let rebased = magnitude &- 0x3800_0000 &+ 0xFFF &+ odd
        return sign | UInt16(truncatingIfNeeded: rebased &>> 13)
    }

    /// Float to IEEE binary16, round-to-nearest-even; overflow to infinity, subnormals, NaN stays NaN.
    public static func f32ToF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<UInt16>, count: Int) {
        var i = 0
        while i < count {
            dst[i] = floatToHalf(src[i])
            i += 1
        }
    }
}
