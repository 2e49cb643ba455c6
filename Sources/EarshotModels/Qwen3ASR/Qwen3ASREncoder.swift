import EarshotTensor
import Foundation

/// The Qwen3-ASR audio encoder ("AuT") and projector, as `Qwen3ASRAudioEncoder.forward`
/// in the official `qwen_asr/core/transformers_backend/modeling_qwen3_asr.py`.
///
/// Mel frames are cut into chunks of `2*n_window` (100) frames; each chunk goes through the conv
/// stem on its own (the tail chunk zero-padded to 100 frames only when there are >= 2 chunks) and
/// gets sinusoidal positions restarting at 0. Padded rows are dropped, then the transformer layers
/// attend within block-diagonal windows of `tokensPerChunk * n_window_infer / (2*n_window)` (104)
/// tokens. Everything but attention is per token, and windows never cross groups of whole windows,
/// so the clip is processed a group of windows at a time: scratch stays bounded for any length.
public struct Qwen3ASREncoder: @unchecked Sendable {
    // @unchecked: read-only views of the model's weights.
    let w: Qwen3ASRWeights
    let config: Qwen3ASRConfig.AudioConfig
    let chunkFrames: Int           // 100
    let tokensPerChunk: Int        // 13
    let windowChunks: Int          // 8
    let positions: [Float]         // [tokensPerChunk, d] sinusoidal table
    /// Attention windows processed together: bounds scratch memory; results do not depend on it.
    let windowsPerGroup: Int
    /// The conv stem as q8_0 GEMMs on channels-last activations (quantized encoders), else nil.
    let convStem: Qwen3QuantizedConvStem?

    init(weights: Qwen3ASRWeights, config: Qwen3ASRConfig.AudioConfig, windowsPerGroup: Int = 8,
         convStem: Qwen3QuantizedConvStem? = nil) {
        w = weights
        self.convStem = convStem
        self.windowsPerGroup = max(1, windowsPerGroup)
        self.config = config
        chunkFrames = 2 * config.nWindow
        tokensPerChunk = Self.convolved(chunkFrames)
        windowChunks = config.nWindowInfer / chunkFrames
        positions = Self.sinusoids(count: tokensPerChunk, dim: config.dModel)
    }

    static func convolved(_ n: Int) -> Int {
        Qwen3ASRWeights.convolvedLength(Qwen3ASRWeights.convolvedLength(Qwen3ASRWeights.convolvedLength(n)))
    }

    /// Audio tokens produced for `frames` mel frames: 13 per full chunk, ceil(r/8) for the tail.
    public func tokenCount(frames: Int) -> Int {
        let full = frames / chunkFrames, rest = frames % chunkFrames
        return full * tokensPerChunk + (rest > 0 ? Self.convolved(rest) : 0)
    }

    /// Offsets (in floats) of the encoder's scratch regions for one group of windows.
    struct Plan {
        var chunks = 0, padded = 0, windowTokens = 0, groupChunks = 0, groupTokens = 0
        var h1 = 0, w1 = 0, h2 = 0, w2 = 0, h3 = 0, w3 = 0
        var sChunk = 0, sConvA = 0, sConvB = 0, sConvC = 0, sIm2col = 0, sFlat = 0
        var sX = 0, sH = 0, sQ = 0, sK = 0, sV = 0, sA = 0, sF = 0, sW = 0, sAttn = 0
        var floats = 0
    }

    func plan(frames: Int) -> Plan {
        var p = Plan()
        let bins = config.numMelBins, d = config.dModel, ch = config.downsampleHiddenSize
        p.chunks = (frames + chunkFrames - 1) / chunkFrames
        p.padded = p.chunks >= 2 ? chunkFrames : frames                 // width of every chunk fed to the stem
        let paddedTokens = Self.convolved(p.padded)
        // Windows: `paddedTokens * windowChunks` tokens (C = 1 gives one window over the whole clip).
        p.windowTokens = paddedTokens * windowChunks
        p.groupChunks = p.chunks >= 2 ? windowChunks * windowsPerGroup : 1
        p.groupTokens = min(p.groupChunks * paddedTokens, tokenCount(frames: frames))
        let groupTokens = p.groupTokens
        p.h1 = Qwen3ASRWeights.convolvedLength(bins); p.w1 = Qwen3ASRWeights.convolvedLength(p.padded)
        p.h2 = Qwen3ASRWeights.convolvedLength(p.h1); p.w2 = Qwen3ASRWeights.convolvedLength(p.w1)
        p.h3 = Qwen3ASRWeights.convolvedLength(p.h2); p.w3 = Qwen3ASRWeights.convolvedLength(p.w2)
        let flat = ch * p.h3
        let f = config.encoderFFNDim
        let stemMatrices = convStem.map { [$0.conv2, $0.conv3] } ?? []
        let matrixScratch = ([w.convOut, w.proj1, w.proj2] + stemMatrices + w.encoderLayers.flatMap { [$0.q, $0.fc1, $0.fc2] })
            .map(\.scratchFloats).max() ?? 0
        var layout = ScratchLayout()
        p.sChunk = layout.add(bins * p.padded)                  // [bins, padded] one chunk of mel
        p.sConvA = layout.add(ch * p.h1 * p.w1)                 // conv1 out
        p.sConvB = layout.add(ch * p.h2 * p.w2)                 // conv2 out
        p.sConvC = layout.add(ch * p.h3 * p.w3)                 // conv3 out
        p.sIm2col = layout.add(max(9 * p.h1 * p.w1, ch * 9 * max(p.h2 * p.w2, p.h3 * p.w3)))
        p.sFlat = layout.add(groupTokens * flat)                // [tokens, ch*h3]
        p.sX = layout.add(groupTokens * d)                      // [tokens, d] residual stream
        p.sH = layout.add(groupTokens * d)                      // [tokens, d] normed
        p.sQ = layout.add(groupTokens * d); p.sK = layout.add(groupTokens * d); p.sV = layout.add(groupTokens * d)
        p.sA = layout.add(groupTokens * d)                      // attention output
        p.sF = layout.add(groupTokens * f)                      // [tokens, ffn]
        p.sW = layout.add(matrixScratch)
        p.sAttn = layout.add(Kernels.attentionScratchCount(lk: groupTokens))   // the kernel strides scores by lk
        p.floats = layout.floats
        return p
    }

    /// Scratch floats `encode` needs for `frames` frames; bounded for any length (one group of windows).
    public func scratchFloats(frames: Int) -> Int { plan(frames: frames).floats }

    /// Encodes mel features `[bins, frames]` into `out` `[tokenCount(frames), output_dim]`, using
    /// `scratch` (`scratchFloats(frames:)` floats) or, when nil, a buffer mapped for this call.
    func encode(mel: UnsafePointer<Float>, frames: Int, into out: UnsafeMutablePointer<Float>,
                scratch: UnsafeMutablePointer<Float>? = nil) throws(TensorError) {
        let bins = config.numMelBins, d = config.dModel, ch = config.downsampleHiddenSize
        let p = plan(frames: frames)
        let (chunks, padded, windowTokens, groupChunks) = (p.chunks, p.padded, p.windowTokens, p.groupChunks)
        let (h1, w1, h2, w2, h3, w3) = (p.h1, p.w1, p.h2, p.w2, p.h3, p.w3)
        let (sChunk, sConvA, sConvB, sConvC, sIm2col, sFlat) = (p.sChunk, p.sConvA, p.sConvB, p.sConvC, p.sIm2col, p.sFlat)
        let (sX, sH, sQ, sK, sV, sA, sF, sW, sAttn) = (p.sX, p.sH, p.sQ, p.sK, p.sV, p.sA, p.sF, p.sW, p.sAttn)
        let flat = ch * h3
        let f = config.encoderFFNDim
        var owned: PageBuffer?
        if scratch == nil { owned = try PageBuffer(byteCount: p.floats * 4, owner: .scratch) }
        defer { owned?.close() }
        let base = scratch ?? owned!.floats()
        let scratchW = base + sW

        var chunk = 0, outRow = 0
        var cu: [Int] = []
        while chunk < chunks {
            let end = min(chunk + groupChunks, chunks)
            // 1. Conv stem per chunk, flattened to [valid, ch*h3] (feature = channel*h3 + freq).
            var tokens = 0
            for c in chunk..<end {
                let start = c * chunkFrames, valid = min(chunkFrames, frames - start)
                let input = base + sChunk
                for b in 0..<bins {
                    let row = input + b * padded
                    row.update(from: mel + b * frames + start, count: valid)
                    if padded > valid { (row + valid).update(repeating: 0, count: padded - valid) }
                }
                let keep = Self.convolved(valid)
                if let stem = convStem {
                    // Channels-last: [h, w, ch] after each layer; row fr * w3 + t of the last one is (freq, time).
                    Qwen3QuantizedConvStem.convolveFirst(input, height: bins, width: padded, channels: ch, weight: w.conv1,
                                                         bias: w.conv1Bias, output: base + sConvA, im2col: base + sIm2col)
                    Kernels.gelu(base + sConvA, count: ch * h1 * w1)
                    Qwen3QuantizedConvStem.convolve(base + sConvA, height: h1, width: w1, channels: ch, matrix: stem.conv2,
                                                    bias: w.conv2Bias, output: base + sConvB, im2col: base + sIm2col, scratch: scratchW)
                    Kernels.gelu(base + sConvB, count: ch * h2 * w2)
                    Qwen3QuantizedConvStem.convolve(base + sConvB, height: h2, width: w2, channels: ch, matrix: stem.conv3,
                                                    bias: w.conv3Bias, output: base + sConvC, im2col: base + sIm2col, scratch: scratchW)
                    Kernels.gelu(base + sConvC, count: ch * h3 * w3)
                    let conv = base + sConvC                     // [h3 * w3, ch]
                    for t in 0..<keep {
                        let dst = base + sFlat + (tokens + t) * flat
                        for fr in 0..<h3 {
                            let src = conv + (fr * w3 + t) * ch
                            for c2 in 0..<ch { dst[c2 * h3 + fr] = src[c2] }
                        }
                    }
                    tokens += keep
                    continue
                }
                Kernels.conv2d3x3s2(input: input, channels: 1, height: bins, width: padded, weight: w.conv1, bias: w.conv1Bias,
                                    outChannels: ch, output: base + sConvA, scratch: base + sIm2col)
                Kernels.gelu(base + sConvA, count: ch * h1 * w1)
                Kernels.conv2d3x3s2(input: base + sConvA, channels: ch, height: h1, width: w1, weight: w.conv2, bias: w.conv2Bias,
                                    outChannels: ch, output: base + sConvB, scratch: base + sIm2col)
                Kernels.gelu(base + sConvB, count: ch * h2 * w2)
                Kernels.conv2d3x3s2(input: base + sConvB, channels: ch, height: h2, width: w2, weight: w.conv3, bias: w.conv3Bias,
                                    outChannels: ch, output: base + sConvC, scratch: base + sIm2col)
                Kernels.gelu(base + sConvC, count: ch * h3 * w3)
                let conv = base + sConvC                         // [ch, h3, w3]
                for t in 0..<keep {
                    let dst = base + sFlat + (tokens + t) * flat
                    for c2 in 0..<ch {
                        for fr in 0..<h3 { dst[c2 * h3 + fr] = conv[(c2 * h3 + fr) * w3 + t] }
                    }
                }
                tokens += keep
            }
            // 2. conv_out, then per-chunk positions (0..<13 restarting every chunk).
            let x = base + sX
            w.convOut.apply(base + sFlat, count: tokens, bias: nil, into: x, scratch: scratchW)
            positions.withUnsafeBufferPointer { pe in
                for t in 0..<tokens {
                    Kernels.add(x + t * d, pe.baseAddress! + (t % tokensPerChunk) * d, count: d)
                }
            }
            // 3. Windows inside the group (groups start on window boundaries).
            cu.removeAll(keepingCapacity: true)
            var b = 0
            while b < tokens { cu.append(b); b += windowTokens }
            cu.append(tokens)
            // 4. Transformer layers.
            for layer in w.encoderLayers {
                let h = base + sH
                h.update(from: x, count: tokens * d)
                Kernels.layerNorm(h, rows: tokens, cols: d, weight: layer.attnNormWeight, bias: layer.attnNormBias, eps: 1e-5)
                layer.q.apply(h, count: tokens, bias: layer.qBias, into: base + sQ, scratch: scratchW)
                layer.k.apply(h, count: tokens, bias: layer.kBias, into: base + sK, scratch: scratchW)
                layer.v.apply(h, count: tokens, bias: layer.vBias, into: base + sV, scratch: scratchW)
                let heads = config.encoderAttentionHeads, hd = d / heads
                cu.withUnsafeBufferPointer { windows in
                    Kernels.attention(q: base + sQ, qStride: d, k: base + sK, v: base + sV, kvStride: d,
                                      out: base + sA, outStride: d, lq: tokens, lk: tokens, qHeads: heads, kvHeads: heads,
                                      headDim: hd, scale: 1 / Float(hd).squareRoot(), causal: false, queryOffset: 0,
                                      windows: windows, scratch: base + sAttn)
                }
                layer.o.apply(base + sA, count: tokens, bias: layer.oBias, into: h, scratch: scratchW)
                Kernels.add(x, h, count: tokens * d)
                h.update(from: x, count: tokens * d)
                Kernels.layerNorm(h, rows: tokens, cols: d, weight: layer.ffnNormWeight, bias: layer.ffnNormBias, eps: 1e-5)
                layer.fc1.apply(h, count: tokens, bias: layer.fc1Bias, into: base + sF, scratch: scratchW)
                Kernels.gelu(base + sF, count: tokens * f)
                layer.fc2.apply(base + sF, count: tokens, bias: layer.fc2Bias, into: h, scratch: scratchW)
                Kernels.add(x, h, count: tokens * d)
            }
            // 5. Projector: ln_post -> proj1 -> GELU -> proj2.
            Kernels.layerNorm(x, rows: tokens, cols: d, weight: w.lnPostWeight, bias: w.lnPostBias, eps: 1e-5)
            w.proj1.apply(x, count: tokens, bias: w.proj1Bias, into: base + sH, scratch: scratchW)
            Kernels.gelu(base + sH, count: tokens * d)
            w.proj2.apply(base + sH, count: tokens, bias: w.proj2Bias, into: out + outRow * config.outputDim, scratch: scratchW)
            outRow += tokens
            chunk = end
        }
    }

    /// Whisper-style sinusoids: first half sin, second half cos, `inc = ln(10000)/(d/2 - 1)`.
    static func sinusoids(count: Int, dim: Int) -> [Float] {
        let half = dim / 2
        let inc = log(10000.0) / Double(max(half - 1, 1))
        var table = [Float](repeating: 0, count: count * dim)
        for t in 0..<count {
            for i in 0..<half {
                let angle = Double(t) * exp(-inc * Double(i))
                table[t * dim + i] = Float(sin(angle))
                table[t * dim + half + i] = Float(cos(angle))
            }
        }
        return table
    }
}
