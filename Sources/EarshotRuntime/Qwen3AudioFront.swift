import EarshotAudio
import EarshotModels
import EarshotTensor

/// Features and encoder for both Qwen3 families (Qwen3-ASR and the forced aligner): the log-mel
/// of a range of samples, zero-padded to `padTo` samples, then the AuT encoder, all in the
/// session's arena: `[bins, frames]` features | mel scratch | `[n, hidden]` embeddings | encoder scratch.
struct Qwen3AudioFront {
    let mel: MelSpectrogram

    init(features f: FeatureConfig) throws(RuntimeError) {
        do {
            mel = try MelSpectrogram(bins: f.featureSize, sampleRate: f.samplingRate, nFFT: f.nFFT, hop: f.hopLength)
        } catch {
            throw .audio(error)
        }
    }

    /// The audio embeddings of `samples[range]` (`[tokens, hidden]`, valid until the arena's next
    /// reservation) and their count.
    func encode(_ samples: AudioSamples, range: Range<Int>, padTo: Int, model: some Qwen3AudioEncoding, hidden: Int,
                arena: ScratchArena, cancel: CancelFlag) throws(RuntimeError) -> (embeds: UnsafePointer<Float>, tokens: Int) {
        let frames = mel.frameCount(samples: max(range.count, padTo))
        let n = model.audioTokenCount(frames: frames)
        var layout = ScratchLayout()
        let fOffset = layout.add(mel.bins * frames), mOffset = layout.add(mel.scratchFloats)
        let eOffset = layout.add(max(n, 1) * hidden), sOffset = layout.add(model.encoderScratchFloats(frames: frames))
        let base: UnsafeMutablePointer<Float>
        do { base = try arena.reserve(floats: layout.floats) } catch { throw .model(.weights(error)) }
        let mel = self.mel
        let computed: Result<Int, AudioError> = samples.withUnsafeSamples { all in
            let slice = UnsafeBufferPointer(rebasing: all[range])
            let run = { (p: UnsafeBufferPointer<Float>) in
                Result { () throws(AudioError) in try mel.compute(p, into: base + fOffset, scratch: base + mOffset) }
            }
            guard slice.count < padTo else { return run(slice) }
            var padded = [Float](repeating: 0, count: padTo)
            padded.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: slice.baseAddress!, count: slice.count) }
            return padded.withUnsafeBufferPointer(run)
        }
        if case .failure(let e) = computed { throw .audio(e) }
        try cancel.check()
        do { try model.encode(mel: base + fOffset, frames: frames, into: base + eOffset, scratch: base + sOffset) } catch {
            throw .model(error)
        }
        return (UnsafePointer(base + eOffset), n)
    }
}
