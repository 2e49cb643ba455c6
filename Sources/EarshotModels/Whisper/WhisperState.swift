import EarshotTensor

/// Per-session state of a Whisper model: the encoder output of the current 30 s window, the
/// cross-attention keys/values computed from it once per window, one self-attention cache per
/// hypothesis slot (beam search and best-of sampling decode `slots` sequences side by side over one
/// encoder output), and every activation buffer. Allocated once per session and reused for every
/// window, request and token (nothing is allocated per token). Used by one task at a time.
public final class WhisperState: @unchecked Sendable {
    // @unchecked: mutable, confined to one task at a time by its owner (a session); documented contract.
    public let dims: WhisperDimensions
    /// Tokens currently in the self-attention caches (every slot holds the same number).
    public internal(set) var length = 0
    /// Hypotheses decoded side by side: self-attention caches and logits rows.
    public let slots: Int

    let cache: PageBuffer     // cross K, cross V [L, A, d] each; then per slot self K, self V [L, T, d] each
    let scratch: PageBuffer
    // Encoder regions (floats into `scratch`). The conv stage and the transformer stage reuse one region.
    let melWindow: Int        // [mels, 2A] the window's features
    let encoded: Int          // [A, d] residual stream, then the encoder output
    let im2col1, conv1Out, im2col2: Int
    let eh, eq, ek, ev, ea, effn, scores: Int
    // Decoder regions (rows up to T).
    let dx, dh, dq, da, dffn, logits: Int
    let tiles, attention: Int

    init(dims: WhisperDimensions, matrixScratch: Int, slots: Int = 1) throws(TensorError) {
        self.dims = dims
        self.slots = max(1, slots)
        let d = dims.modelDim, a = dims.audioContext, t = dims.textContext, l = dims.decoderLayers
        cache = try PageBuffer(byteCount: (2 * l * a * d + self.slots * 2 * l * t * d) * 4, owner: .kvCache)
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
        logits = r.add(self.slots * dims.vocabSize)
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

    /// Forgets the tokens after the first `length` (their cached rows stay valid in every slot
    /// that holds them): a window decoded again from its prompt.
    public func rewind(to length: Int) { self.length = min(max(0, length), self.length) }

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
    /// Self-attention keys `[T, d]` of `layer` in hypothesis slot `slot`.
    @inline(__always) func selfKeys(_ layer: Int, slot: Int = 0) -> UnsafeMutablePointer<Float> {
        cache.floats() + 2 * dims.decoderLayers * dims.audioContext * dims.modelDim
            + (slot * 2 * dims.decoderLayers + layer) * dims.textContext * dims.modelDim
    }
    @inline(__always) func selfValues(_ layer: Int, slot: Int = 0) -> UnsafeMutablePointer<Float> {
        selfKeys(dims.decoderLayers + layer, slot: slot)
    }

    /// Copies the first `length` cached positions of slot `from` into slot `to` (a hypothesis
    /// forks: beam search keeps two continuations of one prefix). Rows past `length` are not read.
    public func copySlot(_ from: Int, to: Int) {
        guard from != to, length > 0 else { return }
        let rows = length * dims.modelDim
        for layer in 0..<2 * dims.decoderLayers {
            selfKeys(layer, slot: to).update(from: selfKeys(layer, slot: from), count: rows)
        }
    }

    /// The window's log-mel features `[mels, 2A]`, to be filled before `WhisperModel.encode`.
    public var melPointer: UnsafeMutablePointer<Float> { ptr(melWindow) }
    /// Logits of the last decoded position `[vocab]` (after `decodeStep`: row 0 of `[rows, vocab]`).
    public var logitsPointer: UnsafeMutablePointer<Float> { ptr(logits) }
    /// Logits of row `row` of the last `decodeStep` `[vocab]`.
    public func logits(row: Int) -> UnsafeMutablePointer<Float> { ptr(logits) + row * dims.vocabSize }
}
