import Foundation

extension Kernels {
    /// Split-half (NeoX) rotary embedding in place on x[tokens, heads, headDim] (contiguous);
    /// token t has position startPosition + t; inv_freq[i] = theta^(-2i/headDim).
    /// Angles are computed in Double, then cos/sin rounded to Float.
    public static func rope(_ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim: Int,
                            startPosition: Int, theta: Double) {
        let half = headDim / 2
        if half == 0 || tokens <= 0 || heads <= 0 { return }
        let tokenStride = heads * headDim
        for i in 0..<half {
            let invFreq = Foundation.pow(theta, -2 * Double(i) / Double(headDim))
            for t in 0..<tokens {
                let angle = Double(startPosition + t) * invFreq
                let c = Float(Foundation.cos(angle))
                let s = Float(Foundation.sin(angle))
                var p = x + t * tokenStride + i
                for _ in 0..<heads {
                    let a = p[0], b = p[half]
                    p[0] = a * c - b * s
                    p[half] = b * c + a * s
                    p += headDim
                }
            }
        }
    }
}
