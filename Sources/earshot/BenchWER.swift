import ArgumentParser
import EarshotBench
import EarshotModels
import EarshotRuntime
import EarshotTensor
import Foundation

struct BenchWER: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wer",
        abstract: "Word error rate of one model on a speech set (transcripts.json + audio files).",
        discussion: """
        Loads the model once and transcribes every item of SET/transcripts.json in order. Words are \
        cut as the set's README defines them (lowercase; letters, digits and apostrophes kept; every \
        other character splits) and the total WER is all substitutions + deletions + insertions over \
        all reference words. Timing is per transcription, audio decoding excluded.

        --reference-json compares with another engine's transcripts: a JSON object mapping file name \
        to text, either the whole file or the object at --reference-key, a dotted path whose parts \
        may contain dots themselves (tiny.en.float32). A path not found at the top is looked for in \
        nested objects, so tiny.en.float32 also finds models.tiny.en.float32.
        """)

    static let defaultSet = "Tests/Fixtures/speech"

    @OptionGroup var common: ModelOptions
    var model: String { common.model }

    @Option(name: .long, help: "Speech set directory (default: \(BenchWER.defaultSet) under the current directory).")
    var set: String?

    @Option(name: .long, help: "Write the report as JSON to this file.")
    var json: String?

    @Option(name: .long, help: "Another engine's transcripts: JSON mapping file name -> text.")
    var referenceJson: String?

    @Option(name: .long, help: "Dotted path to the file -> text object inside --reference-json.")
    var referenceKey: String?

    @Option(name: .long, help: "Fail (exit 1) when fewer files than this are identical to --reference-json's.")
    var minIdentical: Int?

    @Option(name: .long, help: "Fail (exit 1) when the total word error rate exceeds this percentage.")
    var maxWer: Double?

    @OptionGroup(title: "Whisper decoding (faster-whisper's defaults)") var decodingFlags: DecodingFlags

    func validate() throws {
        if minIdentical != nil, referenceJson == nil { throw ValidationError("--min-identical needs --reference-json") }
        if referenceKey != nil, referenceJson == nil { throw ValidationError("--reference-key needs --reference-json") }
    }

    func run() throws {
        common.applyThreads()
        let setDirectory = try resolvedSet()
        let speech: SpeechSet
        do { speech = try SpeechSet.load(directory: setDirectory) } catch { throw fail("earshot: \(error)") }
        var referenceTexts: [String: String]?
        if let referenceJson {
            do {
                let texts = try ReferenceTranscripts.load(path: referenceJson, key: referenceKey)
                try ReferenceTranscripts.check(texts, covers: speech, path: referenceJson)
                referenceTexts = texts
            } catch {
                throw fail("earshot: \(error)")
            }
        }
        guard FileManager.default.fileExists(atPath: model) else { throw fail("earshot: --model \(model): no such file or directory") }

        let loaded: LoadedModel, loadMs: Double
        do {
            (loaded, loadMs) = try common.load()
        } catch {
            throw fail("earshot: \(model): \(error)")
        }
        defer { loaded.close() }

        let bench = WERBenchmark(set: speech, options: TranscriptionOptions(
            language: common.language, timestamps: decodingFlags.timestampsOn, decoding: decodingFlags.decoding))
        let progress = ProgressLine()
        var done = 0
        let measurements: [WERReport.Measurement]
        do {
            measurements = try bench.run(model: loaded) { m in
                done += 1
                progress.show(String(format: "%d/%d  %@  %.2f s", done, speech.items.count, m.item.audio, m.seconds))
            }
        } catch {
            progress.finish()
            throw fail("earshot: \(speech.items[min(done, speech.items.count - 1)].path): \(error)")
        }
        progress.finish()

        let report = WERReport(model: model, precision: common.precision.map(\.rawValue) ?? "as stored", threads: Kernels.threadCount,
                               measurements: measurements, referenceTexts: referenceTexts)
        print(report.table(), terminator: "")
        print(String(format: "Load: %.0f ms", loadMs))
        if let json {
            do { try report.json().write(to: URL(fileURLWithPath: json)) } catch {
                throw fail("earshot: writing \(json): \(error)")
            }
        }
        if let minIdentical, let identical = report.referenceEngine?.identical, identical < minIdentical {
            throw fail("earshot: only \(identical) of \(report.files.count) transcripts are identical to the reference (need \(minIdentical))")
        }
        if let maxWer, report.total.wer * 100 > maxWer + 1e-9 {
            throw fail(String(format: "earshot: word error rate %.2f%% exceeds --max-wer %.2f%%", report.total.wer * 100, maxWer))
        }
    }

    /// --set, else the default set when the current directory has it.
    private func resolvedSet() throws -> String {
        if let set { return set }
        guard FileManager.default.fileExists(atPath: Self.defaultSet) else {
            throw fail("earshot: no --set given and \(Self.defaultSet) is not under the current directory")
        }
        return Self.defaultSet
    }
}
