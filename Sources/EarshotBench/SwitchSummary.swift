import EarshotRuntime

/// What a run of `earshot bench switch` comes to: per-model averages and whole-run memory growth.
///
/// All sizes are in MB of 1,048,576 bytes (MiB). "Growth" compares RSS after unload, where a
/// leak-free process returns to the same level every switch.
///
/// The first `warmUpFraction` of the switches is warm-up (first uses fill caches and pools once);
/// the slopes and the growth after warm-up look only at the switches after it.
public struct SwitchSummary: Sendable, Codable, Equatable {
    /// Bytes in one MB as every figure here uses it.
    public static let bytesPerMB = 1_048_576.0

    /// Averages over one model's switches.
    public struct ModelRow: Sendable, Codable, Equatable {
        public var model: String
        public var switches: Int
        /// RSS after load minus RSS before load: what loading costs.
        public var avgLoadOverheadMB: Double
        /// RSS after transcribing minus RSS after unload: what unloading gave back.
        public var avgUnloadReleaseMB: Double
        /// RSS after unload minus RSS before load: what a whole switch left behind.
        public var avgNetGrowthMB: Double
        public var avgTTFTMs: Double
        public var avgLoadMs: Double
        /// Mean WER in percent over the switches that have one; nil if none has.
        public var avgWERPercent: Double?
        /// WER in percent summed over the run: all word errors / all reference words of the
        /// switches that recorded them (`SwitchStep.wordErrors`); nil if none did.
        public var werPercent: Double?
        /// Clips this model transcribed differently at different switches (decoding is greedy, so
        /// any is a sign of corrupted state); nil unless the steps name their clips.
        public var varyingTranscripts: Int?

        public init(model: String, switches: Int, avgLoadOverheadMB: Double, avgUnloadReleaseMB: Double,
                    avgNetGrowthMB: Double, avgTTFTMs: Double, avgLoadMs: Double, avgWERPercent: Double?,
                    werPercent: Double? = nil, varyingTranscripts: Int? = nil) {
            self.model = model
            self.switches = switches
            self.avgLoadOverheadMB = avgLoadOverheadMB
            self.avgUnloadReleaseMB = avgUnloadReleaseMB
            self.avgNetGrowthMB = avgNetGrowthMB
            self.avgTTFTMs = avgTTFTMs
            self.avgLoadMs = avgLoadMs
            self.avgWERPercent = avgWERPercent
            self.werPercent = werPercent
            self.varyingTranscripts = varyingTranscripts
        }
    }

    public var switches: Int
    public var warmUpFraction: Double
    /// Switches counted as warm-up: `floor(switches * warmUpFraction)`, as `Trend.slopeAfterWarmUp` skips.
    public var warmUpSwitches: Int
    /// One row per model, in the order the models first appear.
    public var models: [ModelRow]

    /// RSS before the first load and after the last unload.
    public var rssInitialMB: Double
    public var rssFinalMB: Double
    /// rssFinalMB - rssInitialMB, and that divided by the number of switches.
    public var totalGrowthMB: Double
    public var growthPerSwitchMB: Double
    /// RSS after the last unload minus RSS after the last warm-up switch's unload (before the
    /// first load when there is no warm-up switch): growth over the post-warm-up switches.
    public var growthAfterWarmUpMB: Double
    /// Anonymous RSS before the first load and after the last unload.
    public var rssAnonInitialMB: Double
    public var rssAnonFinalMB: Double
    /// Least-squares slope, in MB per switch, of RSS / anonymous RSS after unload, over the
    /// switches after warm-up (`Trend.slopeAfterWarmUp`).
    public var rssSlopeAfterWarmUpMB: Double
    public var rssAnonSlopeAfterWarmUpMB: Double
    /// Largest peak RSS (`VmHWM`) seen in any snapshot.
    public var rssPeakMB: Double
    /// Open file descriptors before the first load and after the last unload.
    public var openFileDescriptorsStart: Int
    public var openFileDescriptorsEnd: Int
    /// malloc bytes in use before the first load and after the last unload.
    public var mallocInUseStartMB: Double
    public var mallocInUseEndMB: Double

    /// Summarises `steps` (in switch order). An empty run gives all zeros and no model rows.
    /// `warmUpFraction` is clamped to [0, 1] (0 if not finite).
    public init(steps: [SwitchStep], warmUpFraction: Double = 0.2) {
        let mb = { (bytes: Int) in Double(bytes) / Self.bytesPerMB }
        let warmUpFraction = warmUpFraction.isFinite ? min(max(warmUpFraction, 0), 1) : 0
        switches = steps.count
        self.warmUpFraction = warmUpFraction
        warmUpSwitches = Int((Double(steps.count) * warmUpFraction).rounded(.down))
        models = Self.rows(steps)

        let first = steps.first?.beforeLoad ?? MemoryReport()
        let last = steps.last?.afterUnload ?? MemoryReport()
        rssInitialMB = mb(first.rssBytes)
        rssFinalMB = mb(last.rssBytes)
        totalGrowthMB = rssFinalMB - rssInitialMB
        growthPerSwitchMB = steps.isEmpty ? 0 : totalGrowthMB / Double(steps.count)
        let warmUpEnd = warmUpSwitches > 0 ? steps[warmUpSwitches - 1].afterUnload : first
        growthAfterWarmUpMB = rssFinalMB - mb(warmUpEnd.rssBytes)
        rssAnonInitialMB = mb(first.rssAnonBytes)
        rssAnonFinalMB = mb(last.rssAnonBytes)

        rssSlopeAfterWarmUpMB = Trend.slopeAfterWarmUp(steps.map { mb($0.afterUnload.rssBytes) },
                                                       warmUpFraction: warmUpFraction)
        rssAnonSlopeAfterWarmUpMB = Trend.slopeAfterWarmUp(steps.map { mb($0.afterUnload.rssAnonBytes) },
                                                           warmUpFraction: warmUpFraction)
        let peaks = steps.flatMap { [$0.beforeLoad, $0.afterLoad, $0.afterTranscribe, $0.afterUnload] }
            .map(\.peakRSSBytes)
        rssPeakMB = mb(peaks.max() ?? 0)
        openFileDescriptorsStart = first.openFileDescriptors
        openFileDescriptorsEnd = last.openFileDescriptors
        mallocInUseStartMB = mb(first.mallocInUseBytes)
        mallocInUseEndMB = mb(last.mallocInUseBytes)
    }

    /// Switches the slopes are fitted over.
    public var switchesAfterWarmUp: Int { switches - warmUpSwitches }

    /// True when neither RSS nor anonymous RSS after unload grows by more than `maxSlopeMB` per
    /// switch after warm-up. A slope needs two points, so a run with fewer than two switches
    /// after warm-up proves nothing and does not pass.
    public func passes(maxSlopeMB: Double) -> Bool {
        switchesAfterWarmUp >= 2 && rssSlopeAfterWarmUpMB <= maxSlopeMB && rssAnonSlopeAfterWarmUpMB <= maxSlopeMB
    }

    private static func rows(_ steps: [SwitchStep]) -> [ModelRow] {
        var order: [String] = []
        var byModel: [String: [SwitchStep]] = [:]
        for step in steps {
            if byModel[step.model] == nil { order.append(step.model) }
            byModel[step.model, default: []].append(step)
        }
        return order.map { model in
            let s = byModel[model]!
            func avg(_ value: (SwitchStep) -> Double) -> Double { s.map(value).reduce(0, +) / Double(s.count) }
            func mb(_ bytes: Int) -> Double { Double(bytes) / bytesPerMB }
            let wers = s.compactMap(\.wer)
            let counts = s.compactMap(\.wordErrors)
            let words = counts.reduce(0) { $0 + $1.referenceWords }, errors = counts.reduce(0) { $0 + $1.errors }
            var texts: [String: Set<String>] = [:]
            for step in s { if let audio = step.audio { texts[audio, default: []].insert(step.text) } }
            return ModelRow(
                model: model,
                switches: s.count,
                avgLoadOverheadMB: avg { mb($0.afterLoad.rssBytes - $0.beforeLoad.rssBytes) },
                avgUnloadReleaseMB: avg { mb($0.afterTranscribe.rssBytes - $0.afterUnload.rssBytes) },
                avgNetGrowthMB: avg { mb($0.afterUnload.rssBytes - $0.beforeLoad.rssBytes) },
                avgTTFTMs: avg(\.ttftMs),
                avgLoadMs: avg(\.loadMs),
                avgWERPercent: wers.isEmpty ? nil : 100 * wers.reduce(0, +) / Double(wers.count),
                werPercent: counts.isEmpty ? nil : (words > 0 ? 100 * Double(errors) / Double(words) : 0),
                varyingTranscripts: texts.isEmpty ? nil : texts.values.filter { $0.count > 1 }.count)
        }
    }
}
