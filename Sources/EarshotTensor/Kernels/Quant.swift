import CEarshotKernels
/// Block-quantized weight formats (ggml's layouts, so GGUF tensors are used in place).
///
/// Rows of a `[rows, cols]` matrix are stored one after another, each as `cols / 32` blocks:
/// - `q8_0`: `{ f16 d; int8 q[32] }`, 34 bytes per 32 weights; w = d * q, d = max|w| / 127.
/// - `q4_1`: `{ f16 d; f16 m; uint8 q[16] }`, 20 bytes per 32 weights; w = d * q + m with
///   q in 0...15, m = min(w), d = (max - min) / 15; element j is the low nibble of byte j,
///   element j + 16 the high nibble.
public enum QuantFormat: String, Sendable, Codable, CaseIterable {
    case q8_0
    case q4_1

    public static let blockSize = 32
    /// Widest row the kernels accept (`EK_MAX_QUANT_COLS`).
    public static let maxColumns = 65536

    public var blockBytes: Int {
        switch self {
        case .q8_0: return 34
        case .q4_1: return 20
        }
    }

    /// Whether a `[rows, cols]` matrix can be stored in this format.
    public static func canQuantize(cols: Int) -> Bool {
        cols > 0 && cols % blockSize == 0 && cols <= maxColumns
    }

    /// Bytes of a `[rows, cols]` matrix in this format (cols a multiple of 32).
    public func byteCount(rows: Int, cols: Int) -> Int { rows * (cols / Self.blockSize) * blockBytes }
}

extension Kernels {
    @inline(__always)
    static func loadHalf(_ p: UnsafeRawPointer) -> Float { halfToFloat(p.loadUnaligned(as: UInt16.self)) }

    @inline(__always)
    static func storeHalf(_ v: Float, _ p: UnsafeMutableRawPointer) { p.storeBytes(of: floatToHalf(v), as: UInt16.self) }

    /// Quantizes `rows` rows of f32 `src` `[rows, cols]` into `dst` (`format.byteCount(rows:cols:)` bytes).
    /// Scales are rounded to f16 first and the quants computed against the rounded scale, so
    /// dequantization reproduces exactly what was rounded.
    public static func quantize(_ src: UnsafePointer<Float>, rows: Int, cols: Int, format: QuantFormat,
                                into dst: UnsafeMutableRawPointer) {
        let nb = cols / QuantFormat.blockSize
        for r in 0..<rows {
            for b in 0..<nb {
                let x = src + r * cols + b * 32
                let out = dst + (r * nb + b) * format.blockBytes
                switch format {
                case .q8_0: quantizeBlockQ8_0(x, out)
                case .q4_1: quantizeBlockQ4_1(x, out)
                }
            }
        }
    }

    @inline(__always)
    static func quantizeBlockQ8_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for i in 0..<32 { amax = max(amax, abs(x[i])) }
        storeHalf(amax / 127, out)
        let d = loadHalf(out)
        let inv: Float = d > 0 ? 1 / d : 0
        let q = (out + 2).assumingMemoryBound(to: Int8.self)
        for i in 0..<32 {
            let v = (x[i] * inv).rounded(.toNearestOrEven)
            q[i] = Int8(max(-127, min(127, v.isNaN ? 0 : v)))
        }
    }

    @inline(__always)
    static func quantizeBlockQ4_1(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var lo = x[0], hi = x[0]
        for i in 1..<32 {
            lo = min(lo, x[i])
            hi = max(hi, x[i])
        }
        storeHalf((hi - lo) / 15, out)
        storeHalf(lo, out + 2)
        let d = loadHalf(out), m = loadHalf(out + 2)
        let inv: Float = d > 0 ? 1 / d : 0
        let q = (out + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            let a = ((x[j] - m) * inv).rounded(.toNearestOrEven)
            let b = ((x[j + 16] - m) * inv).rounded(.toNearestOrEven)
            let qa = UInt8(max(0, min(15, a.isNaN ? 0 : a)))
            let qb = UInt8(max(0, min(15, b.isNaN ? 0 : b)))
            q[j] = qa | (qb &<< 4)
        }
    }

    /// Dequantizes `blocks` consecutive blocks of `format` into `out[blocks * 32]`.
    public static func dequantize(_ w: UnsafeRawPointer, blocks: Int, format: QuantFormat, into out: UnsafeMutablePointer<Float>) {
        if blocks <= 0 { return }
        #if arch(x86_64)
        if CPUFeatures.avx2 {
            switch format {
            case .q8_0: ek_q8_0_dequantize(w.assumingMemoryBound(to: UInt8.self), Int64(blocks), out)
            case .q4_1: ek_q4_1_dequantize(w.assumingMemoryBound(to: UInt8.self), Int64(blocks), out)
            }
            return
        }
        #endif
        dequantizePortable(w, blocks: blocks, format: format, into: out)
    }

    static func dequantizePortable(_ w: UnsafeRawPointer, blocks: Int, format: QuantFormat, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let blk = w + b * format.blockBytes, o = out + b * 32
            let d = loadHalf(blk)
            switch format {
            case .q8_0:
                let q = (blk + 2).assumingMemoryBound(to: Int8.self)
                for i in 0..<32 { o[i] = d * Float(q[i]) }
            case .q4_1:
                let m = loadHalf(blk + 2)
                let q = (blk + 4).assumingMemoryBound(to: UInt8.self)
                for j in 0..<16 {
                    o[j] = d * Float(q[j] & 0x0F) + m
                    o[j + 16] = d * Float(q[j] &>> 4) + m
                }
            }
        }
    }
}
