import EarshotRuntime

/// What a run of `earshot bench speed` comes to: per-stage statistics over the timed runs, the
/// machine's measured limits, and how close decode and prefill get to them.
///
/// Encoded as JSON with exactly the keys other tools read (`CodingKeys`): durations in ms, rates
/// per second, sizes in bytes, bandwidth in GB/s of 1e9 bytes.
///
/// Derived figures use medians:
/// - decode bound (tok/s) = read bandwidth / weight bytes per token (every decoder matrix and the
///   output head are read once per generated token); decode fraction = median tok/s / bound.
/// - prefill GFLOPS = 2 * prompt tokens * decoder matrix parameters / median prefill time; prefill
///   fraction = that / sgemm GFLOPS. Attention and weight conversion are not counted as work, so
///   the fraction understates the matrix products' own efficiency.
public struct SpeedSummary: Sendable, Codable, Equatable {
    /// Minimum and median of one figure over the timed runs.
    public struct MinMedian: Sendable, Codable, Equatable {
        public var min: Double
        public var median: Double

        public init(min: Double, median: Double) {
            self.min = min
            self.median = median
        }

        /// Statistics of `values` (zeros when empty).
        public init(_ values: [Double]) {
            self.init(min: values.min() ?? 0, median: SpeedSummary.median(values))
        }
    }

    /// Minimum, median and maximum of one figure over the timed runs.
    public struct MinMedianMax: Sendable, Codable, Equatable {
        public var min: Double
        public var median: Double
        public var max: Double

        public init(min: Double, median: Double, max: Double) {
            self.min = min
            self.median = median
            self.max = max
        }

        /// Statistics of `values` (zeros when empty).
        public init(_ values: [Double]) {
            self.init(min: values.min() ?? 0, median: SpeedSummary.median(values), max: values.max() ?? 0)
        }
    }

    public var model: String
    /// The `WeightPrecision` raw value the model was loaded with.
    public var precision: String
    public var threads: Int
    /// Timed runs (the untimed warm-up run is not counted).
    public var runs: Int
    /// Per run (every run transcribes the same clip the same way).
    public var audioSeconds: Double
    public var audioTokens: Int
    public var promptTokens: Int
    public var generatedTokens: Int
    public var encoderMs: MinMedian
    public var prefillMs: MinMedian
    public var ttftMs: MinMedian
    public var decodeTokensPerSecond: MinMedianMax
    public var realTimeFactor: MinMedian
    /// Largest resident set (`VmHWM`) after the timed runs, mapped weight pages included.
    public var peakRSSBytes: Int
    public var loadMs: Double
    public var weightBytesPerToken: Int
    public var machine: MachineProbe.Measurement
    public var decodeBandwidthBoundTokensPerSecond: Double
    public var decodeFractionOfBandwidthBound: Double
    public var prefillFractionOfSgemmPeak: Double

    /// Summarises the timed `results` (at least one; the first gives the per-run sizes).
    /// `parametersPerToken` is the decoder's matrix parameter count without the output head
    /// (`Qwen3ASRModel.decodeParametersPerToken`).
    public init(model: String, precision: String, threads: Int, results: [TranscriptionResult],
                loadMs: Double, peakRSSBytes: Int, weightBytesPerToken: Int, parametersPerToken: Int,
                machine: MachineProbe.Measurement) {
        self.model = model
        self.precision = precision
        self.threads = threads
        runs = results.count
        let first = results.first
        audioSeconds = first?.audioSeconds ?? 0
        audioTokens = first?.audioTokens ?? 0
        promptTokens = first?.promptTokens ?? 0
        generatedTokens = first?.tokenIDs.count ?? 0
        let timings = results.map(\.timings)
        encoderMs = MinMedian(timings.map(\.encodeMs))
        prefillMs = MinMedian(timings.map(\.prefillMs))
        ttftMs = MinMedian(timings.map(\.ttftMs))
        decodeTokensPerSecond = MinMedianMax(timings.map(\.tokensPerSecond))
        realTimeFactor = MinMedian(timings.map(\.rtf))
        self.peakRSSBytes = peakRSSBytes
        self.loadMs = loadMs
        self.weightBytesPerToken = weightBytesPerToken
        self.machine = machine
        decodeBandwidthBoundTokensPerSecond = Self.bandwidthBound(gbPerSecond: machine.readBandwidthGBPerS,
                                                                  bytesPerToken: weightBytesPerToken)
        decodeFractionOfBandwidthBound = Self.ratio(decodeTokensPerSecond.median, decodeBandwidthBoundTokensPerSecond)
        prefillFractionOfSgemmPeak = Self.ratio(
            Self.gflops(operations: 2 * Double(promptTokens) * Double(parametersPerToken), ms: prefillMs.median),
            machine.sgemmGFLOPS)
    }

    enum CodingKeys: String, CodingKey {
        case model, precision, threads, runs
        case audioSeconds = "audio_seconds", audioTokens = "audio_tokens", promptTokens = "prompt_tokens"
        case generatedTokens = "generated_tokens", encoderMs = "encoder_ms", prefillMs = "prefill_ms", ttftMs = "ttft_ms"
        case decodeTokensPerSecond = "decode_tokens_per_second", realTimeFactor = "real_time_factor"
        case peakRSSBytes = "peak_rss_bytes", loadMs = "load_ms", weightBytesPerToken = "weight_bytes_per_token", machine
        case decodeBandwidthBoundTokensPerSecond = "decode_bandwidth_bound_tokens_per_second"
        case decodeFractionOfBandwidthBound = "decode_fraction_of_bandwidth_bound"
        case prefillFractionOfSgemmPeak = "prefill_fraction_of_sgemm_peak"
    }

    // MARK: - Arithmetic

    /// The middle value, or the mean of the two middle values for an even count; 0 when empty.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// Tokens per second if every token had to read `bytesPerToken` at `gbPerSecond` (0 if unknown).
    public static func bandwidthBound(gbPerSecond: Double, bytesPerToken: Int) -> Double {
        bytesPerToken > 0 ? gbPerSecond * 1e9 / Double(bytesPerToken) : 0
    }

    /// GFLOPS for `operations` done in `ms` milliseconds (0 if no time was measured).
    public static func gflops(operations: Double, ms: Double) -> Double {
        ms > 0 ? operations / (ms / 1000) / 1e9 : 0
    }

    /// `value / limit`, or 0 when the limit is not positive or either is not finite.
    static func ratio(_ value: Double, _ limit: Double) -> Double {
        guard limit > 0, limit.isFinite, value.isFinite else { return 0 }
        return value / limit
    }
}
