import EarshotTensor

/// Per-session state of a Whisper model: the encoder output of the current 30 s window, the
/// cross-attention keys/values computed from it once per window, the self-attention cache, and
/// every activation buffer. Allocated once per session and reused for every window, request and
/// token (nothing is allocated per token). Used by one task at a time.
public final class WhisperState: @unchecked Sendable {
    // @unchecked: mutable, confined to one task at a time by its owner (a session); documented contract.
    public let dims: WhisperDimensions
    /// Tokens currently in the self-attention cache.
    public internal(set) var length = 0

    let cache: PageBuffer     // cross K, cross V [L, A, d] each; self K, self V [L, T, d] each
    let scratch: PageBuffer
    // Encoder regions (floats into `scratch`). The conv stage and the transformer stage reuse one region.
    let melWindow: Int        // [mels, 2A] the window's features
    let encoded: Int          // [A, d] residual stream, then the encoder output
    let im2col1, conv1Out, im2col2: Int
    let eh, eq, ek, ev, ea, effn, scores: Int
    // Decoder regions (rows up to T).
    let dx, dh, dq, da, dffn, logits: Int
    let tiles, attention: Int

    init(dims: WhisperDimensions, matrixScratch: Int) throws(TensorError) {
        self.dims = dims
        let d = dims.modelDim, a = dims.audioContext, t = dims.textContext, l = dims.decoderLayers
        cache = try PageBuffer(byteCount: (2 * l * a * d + 2 * l * t * d) * 4, owner: .kvCache)
        var s = ScratchLayout()
        melWindow = s.add(dims.melBins * 2 * a)
        encoded = s.add(a * d)
        // Conv stage: [2A, mels*3] columns, [2A, d] conv1 output, [A, 3d] conv2 columns.
        let stage = s.floats
        im2col1 = s.add(2 * a * dims.melBins * 3)
        conv1Out = s.add(2 * a * d)
        im2col2 = s.add(a * 3 * d)
        let convEnd = s.floats
        // Transformer stage, over the same floats.
        var u = ScratchLayout()
        _ = u.add(stage)
        eh = u.add(a * d); eq = u.add(a * d); ek = u.add(a * d); ev = u.add(a * d); ea = u.add(a * d)
        effn = u.add(a * dims.ffnDim)
        scores = u.add(Kernels.denseAttentionScratchCount(lq: a, lk: a))   // [A, A], one head at a time
        var r = ScratchLayout()
        _ = r.add(max(convEnd, u.floats))
        dx = r.add(t * d); dh = r.add(t * d); dq = r.add(t * d); da = r.add(t * d); dffn = r.add(t * dims.ffnDim)
        logits = r.add(dims.vocabSize)
        tiles = r.add(matrixScratch)
        attention = r.add(Kernels.attentionScratchCount(lk: max(a, t)))
        do {
            scratch = try PageBuffer(byteCount: r.floats * 4, owner: .scratch)
        } catch {
            cache.close()
            throw error
        }
    }

    /// Forgets the decoded tokens (keeps the window's encoder output and every mapping).
    public func reset() { length = 0 }

    public func close() {
        cache.close()
        scratch.close()
    }

    public var mappedBytes: Int { cache.mappedBytes + scratch.mappedBytes }

    @inline(__always) func ptr(_ offset: Int) -> UnsafeMutablePointer<Float> { scratch.floats() + offset }
    @inline(__always) func crossKeys(_ layer: Int) -> UnsafeMutablePointer<Float> {
        cache.floats() + layer * dims.audioContext * dims.modelDim
    }
    @inline(__always) func crossValues(_ layer: Int) -> UnsafeMutablePointer<Float> {
        cache.floats() + (dims.decoderLayers + layer) * dims.audioContext * dims.modelDim
    }
    @inline(__always) func selfKeys(_ layer: Int) -> UnsafeMutablePointer<Float> {
        cache.floats() + 2 * dims.decoderLayers * dims.audioContext * dims.modelDim + layer * dims.textContext * dims.modelDim
    }
    @inline(__always) func selfValues(_ layer: Int) -> UnsafeMutablePointer<Float> {
        selfKeys(dims.decoderLayers + layer)
    }

    /// The window's log-mel features `[mels, 2A]`, to be filled before `WhisperModel.encode`.
    public var melPointer: UnsafeMutablePointer<Float> { ptr(melWindow) }
    /// Logits of the last decoded position `[vocab]`.
    public var logitsPointer: UnsafeMutablePointer<Float> { ptr(logits) }
}
