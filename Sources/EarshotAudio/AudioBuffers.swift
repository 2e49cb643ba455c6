import EarshotTensor

/// Mono audio samples in [-1, 1] (nominally), owned by a page buffer rather than the malloc heap:
/// 20 minutes at 16 kHz is 77 MB, which must go back to the kernel when the request ends.
///
/// Layout: `[count]` float32 at `sampleRate` Hz. The buffer may be larger than `count` floats.
public struct AudioSamples: Sendable {
    public let storage: PageBuffer
    public let count: Int
    public let sampleRate: Int

    public init(storage: PageBuffer, count: Int, sampleRate: Int) {
        precondition(count >= 0 && count <= storage.floatCount, "AudioSamples count exceeds its storage")
        self.storage = storage
        self.count = count
        self.sampleRate = sampleRate
    }

    /// Copies `values` into a fresh page buffer (for tests and small in-memory signals).
    public init(_ values: [Float], sampleRate: Int) throws(AudioError) {
        let buffer = try makeFloatBuffer(count: values.count)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { buffer.floats().update(from: base, count: src.count) }
        }
        self.init(storage: buffer, count: values.count, sampleRate: sampleRate)
    }

    /// Read access to the samples; the storage stays alive for the duration of `body`.
    public func withUnsafeSamples<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) {
            try body(UnsafeBufferPointer(start: storage.floats(), count: count))
        }
    }

    /// Duration in seconds.
    public var duration: Double { sampleRate > 0 ? Double(count) / Double(sampleRate) : 0 }

    /// A heap copy of the samples (for tests and small clips only).
    public var array: [Float] { withUnsafeSamples { Array($0) } }
}

/// Log-mel features, `[bins, frames]` row-major (bin-major, like the official `input_features`
/// and the golden files), owned by a page buffer.
public struct LogMel: Sendable {
    public let storage: PageBuffer
    /// Mel bins (rows), 128 for Qwen3-ASR.
    public let bins: Int
    /// Frames (columns), `floor(samples / hop)`.
    public let frames: Int

    public init(storage: PageBuffer, bins: Int, frames: Int) {
        precondition(bins >= 0 && frames >= 0 && bins * frames <= storage.floatCount,
                     "LogMel shape exceeds its storage")
        self.storage = storage
        self.bins = bins
        self.frames = frames
    }

    /// The shape in the golden files' order: `[bins, frames]`.
    public var shape: [Int] { [bins, frames] }

    /// Read access to the `[bins, frames]` values; the storage stays alive for `body`.
    public func withUnsafeValues<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) {
            try body(UnsafeBufferPointer(start: storage.floats(), count: bins * frames))
        }
    }

    /// The value at (`bin`, `frame`).
    public subscript(bin: Int, frame: Int) -> Float {
        precondition(bin >= 0 && bin < bins && frame >= 0 && frame < frames, "LogMel index out of range")
        return withUnsafeValues { $0[bin * frames + frame] }
    }

    /// A heap copy of all values, `[bins, frames]` row-major (for tests and small clips only).
    public var array: [Float] { withUnsafeValues { Array($0) } }
}
