extension Kernels {
    /// Output size of a 3x3, stride-2, padding-1 convolution along a dimension of size n.
    public static func conv2dOutputSize(_ n: Int) -> Int { (n + 1) / 2 }

    /// 2-D convolution, 3x3 kernel, stride 2, padding 1, one image.
    /// input [cin, h, w], weight [cout, cin, 3, 3], bias [cout] -> output [cout, ho, wo].
    /// scratch needs cin * 9 * ho * wo floats (im2col matrix).
    public static func conv2d3x3s2(input: UnsafePointer<Float>, channels cin: Int, height h: Int, width w: Int,
                                   weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, outChannels cout: Int,
                                   output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let ho = conv2dOutputSize(h), wo = conv2dOutputSize(w)
        let spatial = ho * wo
        if spatial <= 0 || cout <= 0 { return }
        // im2col: scratch[(c*9 + ky*3 + kx), oy*wo + ox] = input[c, 2oy+ky-1, 2ox+kx-1] (0 outside).
        for c in 0..<cin {
            let plane = input + c * h * w
            for ky in 0..<3 {
                for kx in 0..<3 {
                    let dst = scratch + ((c * 9 + ky * 3 + kx) * spatial)
                    for oy in 0..<ho {
                        let iy = 2 * oy + ky - 1
                        let drow = dst + oy * wo
                        if iy < 0 || iy >= h {
                            drow.update(repeating: 0, count: wo)
                            continue
                        }
                        let srow = plane + iy * w
                        for ox in 0..<wo {
                            let ix = 2 * ox + kx - 1
                            drow[ox] = (ix >= 0 && ix < w) ? srow[ix] : 0
                        }
                    }
                }
            }
        }
        for o in 0..<cout {
            (output + o * spatial).update(repeating: bias[o], count: spatial)
        }
        let kdim = cin * 9
        gemm(m: cout, n: spatial, k: kdim, a: weight, lda: kdim, b: scratch, ldb: spatial,
             beta: 1, c: output, ldc: spatial)
    }
}
