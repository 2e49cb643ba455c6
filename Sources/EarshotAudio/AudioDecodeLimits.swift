/// How far decoding one input may go: a maximum duration, a deadline, and a cancellation check.
///
/// Audio from outside is hostile: a 4 MB WAV that declares 100 Hz is 20,000 s once resampled, and
/// a 45 KB FLAC of silence can declare hours. The duration limit is checked against what headers
/// declare before anything is decoded, and again while decoded samples arrive, so the memory a
/// decode can take is bounded by the limit, not by the input. The deadline and the cancellation
/// check are polled while an ffmpeg child runs; either one kills its process group.
public struct AudioDecodeLimits: Sendable {
    /// Longest accepted audio, in seconds; nil accepts any length (the CLI's default).
    public var maxSeconds: Double?
    /// When decoding must have finished.
    public var deadline: Deadline?
    /// Polled while decoding; return true to stop (client gone, server shutting down).
    public var isCancelled: @Sendable () -> Bool
    /// Where to look for ffmpeg instead of `$PATH` (tests); nil uses `$PATH`.
    public var ffmpegSearchPath: String?
    /// The ffmpeg executable to run; nil looks for `ffmpeg` on the search path.
    public var ffmpegPath: String?

    public init(maxSeconds: Double? = nil, deadline: Deadline? = nil,
                isCancelled: @escaping @Sendable () -> Bool = { false }, ffmpegSearchPath: String? = nil,
                ffmpegPath: String? = nil) {
        self.maxSeconds = maxSeconds
        self.deadline = deadline
        self.isCancelled = isCancelled
        self.ffmpegSearchPath = ffmpegSearchPath
        self.ffmpegPath = ffmpegPath
    }

    /// No limit, no deadline, never cancelled.
    public static var none: AudioDecodeLimits { AudioDecodeLimits() }

    /// A point in time plus the budget it came from (for the error message).
    public struct Deadline: Sendable {
        public let instant: ContinuousClock.Instant
        public let seconds: Double
        public init(seconds: Double, from start: ContinuousClock.Instant = .now) {
            self.seconds = seconds
            instant = start.advanced(by: .nanoseconds(Int64(min(max(seconds, 0), 1e9) * 1e9)))
        }
    }

    /// Throws when the caller cancelled or the deadline passed.
    public func checkContinue(name: String) throws(AudioError) {
        if isCancelled() { throw .cancelled(name: name) }
        if let deadline, ContinuousClock.now >= deadline.instant { throw .timedOut(name: name, seconds: deadline.seconds) }
    }

    /// Throws `tooLong` when `seconds` (declared or decoded so far) exceeds the limit.
    public func checkDuration(_ seconds: Double, name: String) throws(AudioError) {
        guard let maxSeconds else { return }
        if !(seconds <= maxSeconds) { throw .tooLong(name: name, seconds: seconds, limitSeconds: maxSeconds) }
    }

    /// The most samples at `rate` Hz that fit the limit (nil: unlimited).
    func maxSamples(atRate rate: Int) -> Int? {
        guard let maxSeconds else { return nil }
        let n = maxSeconds * Double(rate)
        return n >= Double(Int.max / 8) ? nil : Int(n.rounded(.down))
    }
}

extension AudioContainer {
    /// The duration a header declares, when it is cheap and exact to read before decoding:
    /// FLAC's STREAMINFO (total samples and rate). Other containers are bounded while decoding.
    static func declaredSeconds(_ b: UnsafeRawBufferPointer, container: AudioContainer) -> Double? {
        guard container == .flac, b.count >= 26, b[4] & 0x7F == 0 else { return nil }   // block 0 is STREAMINFO
        let rate = (Int(b[18]) << 12) | (Int(b[19]) << 4) | (Int(b[20]) >> 4)
        let total = (Int(b[21] & 0x0F) << 32) | (Int(b[22]) << 24) | (Int(b[23]) << 16) | (Int(b[24]) << 8) | Int(b[25])
        guard rate > 0, total > 0 else { return nil }   // 0 total: unknown length (streamed FLAC)
        return Double(total) / Double(rate)
    }
}
