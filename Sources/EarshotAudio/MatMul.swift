/// A small, self-contained `C = A · Bᵀ` for the DFT of the mel front end.
///
/// Both operands are row-major with the reduction dimension contiguous — A `[m, k]` with row
/// stride `lda` (rows may overlap: the STFT frames are a strided view of the signal with
/// `lda = hop`), B `[n, k]` with row stride `ldb` — and C `[m, n]` with row stride `ldc`.
/// This is the `gemm(transB: true)` case of a BLAS; it exists so the audio target does not wait
/// on (or depend on) the tensor kernels, and is register-blocked 2 x 4 with SIMD8 accumulators,
/// which is fast enough for 20 minutes of audio in a few seconds.
enum MatMul {
    static func multiplyTransposed(m: Int, n: Int, k: Int,
                                   a: UnsafePointer<Float>, lda: Int,
                                   b: UnsafePointer<Float>, ldb: Int,
                                   c: UnsafeMutablePointer<Float>, ldc: Int) {
        let k8 = k / 8 * 8
        var i = 0
        while i < m {
            let rowsA = min(2, m - i)
            let a0 = UnsafeRawPointer(a + i * lda)
            let a1 = UnsafeRawPointer(a + (i + rowsA - 1) * lda)   // duplicate row 0 when m is odd
            var j = 0
            while j < n {
                let colsB = min(4, n - j)
                // Rows beyond n duplicate the last valid row; their results are not stored.
                let b0 = UnsafeRawPointer(b + j * ldb)
                let b1 = UnsafeRawPointer(b + (j + min(1, colsB - 1)) * ldb)
                let b2 = UnsafeRawPointer(b + (j + min(2, colsB - 1)) * ldb)
                let b3 = UnsafeRawPointer(b + (j + min(3, colsB - 1)) * ldb)
                var s00 = SIMD8<Float>(), s01 = SIMD8<Float>(), s02 = SIMD8<Float>(), s03 = SIMD8<Float>()
                var s10 = SIMD8<Float>(), s11 = SIMD8<Float>(), s12 = SIMD8<Float>(), s13 = SIMD8<Float>()
                var p = 0
                while p < k8 {
                    let off = p * 4
                    let x0 = a0.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
                    let x1 = a1.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
                    let y0 = b0.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
                    s00 += x0 * y0; s10 += x1 * y0
                    let y1 = b1.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
                    s01 += x0 * y1; s11 += x1 * y1
                    let y2 = b2.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
                    s02 += x0 * y2; s12 += x1 * y2
                    let y3 = b3.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
                    s03 += x0 * y3; s13 += x1 * y3
                    p += 8
                }
                var r0: SIMD4<Float> = [s00.sum(), s01.sum(), s02.sum(), s03.sum()]
                var r1: SIMD4<Float> = [s10.sum(), s11.sum(), s12.sum(), s13.sum()]
                while p < k {   // tail of the reduction when k is not a multiple of 8
                    let x0 = a0.load(fromByteOffset: p * 4, as: Float.self)
                    let x1 = a1.load(fromByteOffset: p * 4, as: Float.self)
                    let y = SIMD4<Float>(b0.load(fromByteOffset: p * 4, as: Float.self),
                                         b1.load(fromByteOffset: p * 4, as: Float.self),
                                         b2.load(fromByteOffset: p * 4, as: Float.self),
                                         b3.load(fromByteOffset: p * 4, as: Float.self))
                    r0 += x0 * y
                    r1 += x1 * y
                    p += 1
                }
                let c0 = c + i * ldc + j
                for q in 0..<colsB { c0[q] = r0[q] }
                if rowsA == 2 {
                    let c1 = c0 + ldc
                    for q in 0..<colsB { c1[q] = r1[q] }
                }
                j += 4
            }
            i += 2
        }
    }
}
