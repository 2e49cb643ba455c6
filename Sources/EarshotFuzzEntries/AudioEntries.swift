import EarshotAudio

enum AudioEntries {
    /// Decodes a WAV image as `AudioDecoder` does for a file or an upload, then conditions the
    /// samples (peak normalisation). Resampling has its own target, `wav-resample`: designing a
    /// filter for each header's rate costs ~100x the parsing, which would starve the header search.
    static func wav(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        do {
            let samples = try AudioDecoder.decodeWAV(bytes: bytes, name: "fuzz.wav")
            let conditioned = try AudioDecoder.condition(samples)
            return .accepted("\(conditioned.count) samples at \(samples.sampleRate) Hz")
        } catch {
            return .rejected(error.description)
        }
    }

    /// Decodes a WAV image as `AudioDecoder` does for a file or an upload, then resamples and
    /// conditions a prefix of it. The prefix (at most half a second of the declared rate) keeps
    /// every iteration small whatever rate the header claims: the resampler's cost scales with
    /// the output, and a 1 Hz file of n samples becomes 16,000 n samples at 16 kHz. The whole
    /// input is still decoded, and the filter is designed for the header's real rate.
    static func wavResample(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        do {
            let samples = try AudioDecoder.decodeWAV(bytes: bytes, name: "fuzz.wav")
            let keep = min(samples.count, max(1, samples.sampleRate / 2))
            let prefix = AudioSamples(storage: samples.storage, count: keep, sampleRate: samples.sampleRate)
            let prepared = try AudioDecoder.prepare(prefix)
            return .accepted("\(samples.count) samples at \(samples.sampleRate) Hz; \(keep) resampled to \(prepared.count)")
        } catch {
            return .rejected(error.description)
        }
    }
}
