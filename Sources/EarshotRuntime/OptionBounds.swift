import EarshotTensor

/// The allowed range of one integer option, and the check every entry point runs before the value
/// is used: a value outside it is `RuntimeError.invalidOption`, naming the option as the caller
/// spelled it (`--max-tokens`, `max_tokens`, `EARSHOT_MAX_TOKENS`) and the range.
///
/// Why two concrete types (this and `RealOptionBound`) rather than one generic: a generic struct's
/// metadata is built at run time, which valgrind reports as a read of uninitialised memory inside
/// the Swift runtime (the C ABI's valgrind test must stay clean); these are laid out at compile time.
public struct OptionBound: Sendable {
    public let range: ClosedRange<Int>
    /// What the number counts ("tokens", "MB"), for the message.
    public let unit: String

    public init(_ range: ClosedRange<Int>, unit: String) {
        self.range = range
        self.unit = unit
    }

    /// `value` when it is in `range`; otherwise the typed error naming `option`.
    @discardableResult
    public func check(_ value: Int, option: String) throws(RuntimeError) -> Int {
        guard range.contains(value) else {
            throw .invalidOption(option: option, value: "\(value)", allowed: allowed)
        }
        return value
    }

    /// The range as a message says it, e.g. "1...1000000 tokens".
    public var allowed: String { describe("\(range.lowerBound)...\(range.upperBound)", unit) }
}

/// `OptionBound` for a floating-point option (seconds, MB). `ClosedRange.contains` is false for
/// NaN and for infinities beyond the ends, so the one check also refuses non-finite values.
public struct RealOptionBound: Sendable {
    public let range: ClosedRange<Double>
    public let unit: String

    public init(_ range: ClosedRange<Double>, unit: String) {
        self.range = range
        self.unit = unit
    }

    @discardableResult
    public func check(_ value: Double, option: String) throws(RuntimeError) -> Double {
        guard range.contains(value) else {
            throw .invalidOption(option: option, value: "\(value)", allowed: allowed)
        }
        return value
    }

    public var allowed: String { describe("\(range.lowerBound)...\(range.upperBound)", unit) }
}

private func describe(_ span: String, _ unit: String) -> String { unit.isEmpty ? span : span + " " + unit }

/// Every numeric option's bound, in one place: the CLI (`earshot transcribe`, `serve`, `bench`),
/// the server's configuration (file, environment, flags) and the C ABI's JSON options all check
/// against these, so a value is refused the same way whichever door it came through.
///
/// Why these ends: each upper end is far above any real use and low enough that the arithmetic done
/// with the value (positions + prompt, MB << 20, seconds as a `Duration`, one thread each) cannot
/// overflow or ask the machine for absurd resources.
public enum OptionBounds {
    /// Generated tokens per pass. Sessions size their decoder state from prompt + this.
    public static let maxTokens = OptionBound(1...1_000_000, unit: "tokens")
    /// Compute threads (the kernels also clamp to this, so no caller can start more).
    public static let threads = OptionBound(1...Kernels.maxThreads, unit: "threads")
    /// Whisper beams and best-of candidates: each is a self-attention cache in the session state.
    public static let beams = OptionBound(1...16, unit: "hypotheses")
    public static var maxBeams: Int { beams.range.upperBound }
    /// Whisper sampling temperature (0: beam search or argmax).
    public static let temperature = RealOptionBound(0...2.0, unit: "")
    /// Whisper sampler seed (exact in a JSON number).
    public static let seed = OptionBound(0...(1 << 53), unit: "")
    /// Repetitions of a token pattern that stop decoding; 0 disables the guard.
    public static let loopGuardRepeats = OptionBound(0...1_000_000, unit: "repeats")
    /// TCP port; 0 asks the kernel for a free one.
    public static let port = OptionBound(0...65_535, unit: "")
    /// Transcriptions running at once on the server.
    public static let maxConcurrency = OptionBound(1...64, unit: "transcriptions")
    /// Requests waiting for a slot; each may hold an upload in memory.
    public static let queue = OptionBound(0...10_000, unit: "requests")
    /// Idle seconds before a model unloads; 0 never (at most a year).
    public static let ttlSeconds = OptionBound(0...31_536_000, unit: "seconds")
    /// Largest upload; shifted to bytes (<< 20), so bounded far below overflow.
    public static let maxUploadMB = OptionBound(1...16_384, unit: "MB")
    /// Memory budget for loaded models (1 PiB at most: << 20 stays exact).
    public static let budgetMB = OptionBound(1...(1 << 30), unit: "MB")
    /// Request timeout: above 0, at most a week (a `Duration` of it cannot overflow).
    public static let timeoutSeconds = RealOptionBound(0.001...604_800.0, unit: "seconds")
    /// Longest accepted audio (CLI `--max-audio-seconds`, C ABI `max_audio_seconds`): a year of
    /// audio at 384 kHz is still far from overflowing a sample count.
    public static let maxAudioSeconds = RealOptionBound(0.001...31_536_000.0, unit: "seconds")
    /// Benchmark repetitions (runs, switches, restarts).
    public static let runs = OptionBound(1...1_000_000, unit: "runs")
    /// Benchmark iterations that may be 0 (switches, restarts).
    public static let iterations = OptionBound(0...1_000_000, unit: "iterations")
    /// Benchmark working sets in MB (shifted to bytes).
    public static let benchMegabytes = OptionBound(1...65_536, unit: "MB")
    /// `bench kernels --batch --rows`: activation rows per product.
    public static let batchRows = OptionBound(1...256, unit: "rows")
    /// Benchmark text to encode, in MB (becomes a byte count: finite and bounded).
    public static let textMegabytes = RealOptionBound(0.001...1_024.0, unit: "MB")

    /// Checks the numbers in `options`, naming them as the C ABI and the server's configuration do.
    public static func check(_ options: TranscriptionOptions) throws(RuntimeError) {
        try maxTokens.check(options.maxNewTokens, option: "max_tokens")
        try loopGuardRepeats.check(options.loopGuardRepeats, option: "loop_guard_repeats")
    }
}
