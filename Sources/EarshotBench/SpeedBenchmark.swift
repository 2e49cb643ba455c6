import EarshotAudio
import EarshotModels
import EarshotRuntime
import EarshotTensor

/// The `earshot bench speed` experiment: load one model, transcribe one clip once untimed and
/// `runs` times timed, each decoding exactly `maxTokens` tokens (EOS and the loop guard are
/// ignored, so random-weight checkpoints decode as long as real ones), record peak RSS, unload,
/// then probe the machine's read bandwidth and sgemm peak in the same process.
///
/// Kernels run on `Kernels.threadCount` threads; set it (`Kernels.setThreadCount`) before `run`.
public struct SpeedBenchmark: Sendable {
    public var modelDirectory: String
    public var precision: WeightPrecision
    public var runs: Int
    public var maxTokens: Int
    /// Forced language (nil: detected, as the model does).
    public var language: String?
    /// Bytes the bandwidth probe reads (much larger than the caches).
    public var probeReadBytes: Int
    /// The sgemm probe's `n x n x n` size.
    public var probeGemmSize: Int

    public init(modelDirectory: String, precision: WeightPrecision = .inPlace, runs: Int = 3, maxTokens: Int = 32,
                language: String? = nil, probeReadBytes: Int = MachineProbe.defaultReadBytes, probeGemmSize: Int = MachineProbe.defaultGemmSize) {
        self.modelDirectory = modelDirectory
        self.precision = precision
        self.runs = runs
        self.maxTokens = maxTokens
        self.language = language
        self.probeReadBytes = probeReadBytes
        self.probeGemmSize = probeGemmSize
    }

    /// The options every run uses: a fixed decode length, one argmax chain (Whisper: no beams, no timestamps).
    public var options: TranscriptionOptions {
        TranscriptionOptions(language: language, maxNewTokens: maxTokens, loopGuardRepeats: 0, ignoreEOS: true,
                             timestamps: false, decoding: .greedy)
    }

    /// Runs the experiment on `samples`; `progress` receives one line per stage.
    public func run(samples: AudioSamples, progress: (String) -> Void = { _ in }) throws(SpeedBenchmarkError) -> SpeedSummary {
        guard runs >= 1 else { throw .invalidArgument("runs must be at least 1 (got \(runs))") }
        guard maxTokens >= 2 else { throw .invalidArgument("max tokens must be at least 2 to time decoding (got \(maxTokens))") }
        let threads = Kernels.threadCount
        let timed = try timedRuns(samples: samples, progress: progress)   // the model is unloaded again here

        progress("probing read bandwidth (\(probeReadBytes >> 20) MB, \(threads) threads) and sgemm (\(probeGemmSize)^3)")
        let machine: MachineProbe.Measurement
        do {
            machine = try MachineProbe.measure(readBytes: probeReadBytes, threads: threads, gemmSize: probeGemmSize)
        } catch {
            throw .probe(error)
        }
        return SpeedSummary(model: modelDirectory, precision: precision.rawValue, threads: threads, results: timed.results,
                            loadMs: timed.loadMs, peakRSSBytes: timed.peakRSSBytes,
                            weightBytesPerToken: timed.weightBytesPerToken, parametersPerToken: timed.parametersPerToken,
                            machine: machine)
    }

    private struct TimedRuns {
        var results: [TranscriptionResult] = []
        var loadMs = 0.0
        var peakRSSBytes = 0
        var weightBytesPerToken = 0
        var parametersPerToken = 0
    }

    /// Loads the model, runs the warm-up and timed transcriptions, and unloads it.
    private func timedRuns(samples: AudioSamples, progress: (String) -> Void) throws(SpeedBenchmarkError) -> TimedRuns {
        var timed = TimedRuns()
        progress("loading \(modelDirectory) (\(precision.rawValue))")
        let clock = ContinuousClock()
        let loadStart = clock.now
        let model: LoadedModel
        do {
            model = try ModelRegistry.load(directory: modelDirectory, precision: precision)
        } catch {
            throw .load(error)
        }
        timed.loadMs = (clock.now - loadStart).milliseconds
        defer { model.close() }
        let session: Session
        do { session = try Session(model: model) } catch { throw .transcription(error) }
        defer { session.close() }

        for run in 0...runs {
            progress(run == 0 ? "warm-up run" : "run \(run)/\(runs)")
            let result: TranscriptionResult
            do { result = try session.transcribe(samples, options: options) } catch { throw .transcription(error) }
            if run > 0 { timed.results.append(result) }
        }
        timed.peakRSSBytes = MemoryReport.current().peakRSSBytes
        timed.weightBytesPerToken = model.decodeWeightBytesPerToken
        timed.parametersPerToken = model.decodeParametersPerToken
        return timed
    }
}

/// Why a speed benchmark stopped.
public enum SpeedBenchmarkError: Error, Sendable, CustomStringConvertible {
    case invalidArgument(String)
    /// The model could not be loaded.
    case load(ModelError)
    /// A transcription failed.
    case transcription(RuntimeError)
    /// The machine probe failed.
    case probe(MachineProbeError)

    public var description: String {
        switch self {
        case .invalidArgument(let why): return why
        case .load(let e): return "loading the model: \(e)"
        case .transcription(let e): return "transcribing: \(e)"
        case .probe(let e): return "\(e)"
        }
    }
}
