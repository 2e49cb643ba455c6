import EarshotTensor

/// Per-session state of the Qwen3 decoder: the KV cache and every activation buffer, allocated
/// once when the session is made and reused for every request and token (no per-token allocation).
///
/// Weights live in the model and are shared; a `Qwen3ASRState` belongs to one session and is used by
/// one task at a time. `reset()` forgets the cached tokens without touching any memory mapping.
public final class Qwen3ASRState: @unchecked Sendable {
    // @unchecked: mutable, but confined to one task at a time by its owner (a session); documented contract.
    public let maxTokens: Int
    /// Prompt tokens processed per prefill block: bounds activation memory for any prompt length.
    public let blockRows: Int
    /// Tokens currently in the cache.
    public internal(set) var length = 0

    let kv: PageBuffer          // per layer: K [maxTokens, kvHeads*headDim] then V, same shape
    let scratch: PageBuffer
    let kvStride: Int
    let layerFloats: Int
    // Offsets (in floats) of the scratch regions.
    let x, h, q, a, gate, up, logits, weightScratch, attention: Int

    /// `logitsFloats`: the vocabulary for Qwen3-ASR (last row only); `blockRows x classify_num`
    /// for the forced aligner, whose slots in one block are classified together.
    init(config: Qwen3ASRConfig.TextConfig, maxTokens: Int, blockRows: Int, matrixScratch: Int,
         logitsFloats: Int) throws(TensorError) {
        self.maxTokens = maxTokens
        self.blockRows = blockRows
        kvStride = config.numKeyValueHeads * config.headDim
        layerFloats = 2 * maxTokens * kvStride
        kv = try PageBuffer(byteCount: config.numHiddenLayers * layerFloats * 4, owner: .kvCache)
        let hd = config.numAttentionHeads * config.headDim
        var s = ScratchLayout()
        x = s.add(blockRows * config.hiddenSize)            // [B, H] residual stream
        h = s.add(blockRows * config.hiddenSize)            // [B, H] normed
        q = s.add(blockRows * hd)                           // [B, heads*headDim]; K and V go straight into the cache
        a = s.add(blockRows * hd)                           // attention output
        gate = s.add(blockRows * config.intermediateSize)   // [B, I]
        up = s.add(blockRows * config.intermediateSize)
        logits = s.add(logitsFloats)                        // [V], or [B, classes] for the aligner
        weightScratch = s.add(matrixScratch)
        attention = s.add(Kernels.attentionScratchCount(lk: maxTokens))
        do {
            scratch = try PageBuffer(byteCount: s.floats * 4, owner: .scratch)
        } catch {
            kv.close()
            throw error
        }
    }

    /// Forgets the cached tokens (the `restart` of a session). Memory stays mapped for reuse.
    public func reset() { length = 0 }

    /// Unmaps the cache and scratch now.
    public func close() {
        kv.close()
        scratch.close()
    }

    public var mappedBytes: Int { kv.mappedBytes + scratch.mappedBytes }

    @inline(__always) func ptr(_ offset: Int) -> UnsafeMutablePointer<Float> { scratch.floats() + offset }
    @inline(__always) func keys(layer: Int) -> UnsafeMutablePointer<Float> { kv.floats() + layer * layerFloats }
    @inline(__always) func values(layer: Int) -> UnsafeMutablePointer<Float> {
        kv.floats() + layer * layerFloats + maxTokens * kvStride
    }
    /// Logits of the last processed position, `[vocab]` (the aligner's slot logits during a prefill).
    public var logitsPointer: UnsafeMutablePointer<Float> { ptr(logits) }
}
