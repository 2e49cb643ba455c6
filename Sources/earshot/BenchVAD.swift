import ArgumentParser
import EarshotBench
import EarshotAudio
import EarshotModels
import EarshotRuntime
import EarshotTensor
import Foundation

struct BenchVAD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vad",
        abstract: "Silero VAD against faster-whisper's speech timestamps (Tests/Fixtures/vad/silero-reference.json).",
        discussion: """
        Rebuilds every reference case's audio (recordings, the recordings joined with silences, ten \
        minutes of silence and noise), runs the VAD and get_speech_timestamps' rules, and prints per \
        case the ranges, the largest probability difference and the time taken. Exits non-zero when \
        any case has another number of ranges or a bound more than one 512-sample window away.
        """)

    @Option(name: .long, help: "The reference JSON.")
    var reference = "Tests/Fixtures/vad/silero-reference.json"

    @Option(name: .long, help: "Silero VAD ONNX file.")
    var vadModel = "Tests/Fixtures/vad/silero_vad_v6.onnx"

    @Option(name: .long, help: "Directory the cases' audio paths are relative to.")
    var root = "."

    @Option(name: .long, help: "Also transcribe the joined case with this Whisper model and --vad, against faster-whisper's vad_filter=True segments.")
    var whisperModel: String?

    @Option(name: .long, help: "The reference's transcript key for --whisper-model (default: the directory's name).")
    var whisperKey: String?

    @Option(name: .long, help: "Threads for --whisper-model.")
    var threads: Int = 2

    func run() throws {
        let ref: VADReference, model: SileroVADModel
        do { ref = try VADReference.load(reference) } catch { throw fail("earshot: \(reference): \(error)") }
        do { model = try SileroVADModel(path: vadModel) } catch { throw fail("earshot: \(error)") }
        defer { model.close() }
        print("| case | audio (s) | ranges | faster-whisper | max |p diff| | VAD time (ms) | x real time |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        var failed: [String] = []
        for c in ref.cases {
            let o: VADReference.Outcome
            do { o = try VADReference.compare(c, model: model, root: URL(fileURLWithPath: root)) } catch {
                throw fail("earshot: \(c.name): \(error)")
            }
            let diff = o.probabilityError.map { String(format: "%.1e", $0) } ?? "-"
            print(String(format: "| %@ | %.1f | %d | %d | %@ | %.0f | %.0f |", c.name, o.seconds, o.ranges.count,
                         c.ranges.count, diff, o.vadMs, o.seconds * 1000 / max(o.vadMs, 0.001)))
            if !o.agrees { failed.append("\(c.name): \(o.ranges.map { [$0.lowerBound, $0.upperBound] }) vs \(c.ranges)") }
        }
        if let whisperModel { failed += try transcribeJoined(ref, vad: model, whisperModel: whisperModel) }
        if !failed.isEmpty {
            throw fail("earshot: speech ranges differ from faster-whisper's by more than one window:\n" + failed.joined(separator: "\n"))
        }
        print("all \(ref.cases.count) cases: speech ranges within one 512-sample window of faster-whisper \(ref.faster_whisper)")
    }

    /// The joined case through `Session` with VAD on: segments (start, end, text) against faster-whisper's.
    func transcribeJoined(_ ref: VADReference, vad: SileroVADModel, whisperModel: String) throws -> [String] {
        let key = whisperKey ?? URL(fileURLWithPath: whisperModel).lastPathComponent
        guard let c = ref.cases.first(where: { $0.transcripts?[key] != nil }), let expected = c.transcripts?[key] else {
            throw fail("earshot: the reference has no --vad transcript for '\(key)'")
        }
        Kernels.setThreadCount(max(1, threads))
        let model: WhisperModel, session: Session
        do {
            model = try WhisperModel(directory: whisperModel)
            session = try Session(model: model)
        } catch { throw fail("earshot: \(error)") }
        defer { session.close(); model.close() }
        let audio = try AudioSamples(try c.audio(root: URL(fileURLWithPath: root)), sampleRate: 16000)
        defer { audio.storage.close() }
        var options = TranscriptionOptions(language: "en")
        options.vad = VoiceActivityFilter(model: vad)
        let r: TranscriptionResult
        do { r = try session.transcribe(audio, options: options) } catch { throw fail("earshot: \(error)") }
        let round = { (t: Double) in (t * 100).rounded() / 100 }
        let got = r.segments.map { "\(round($0.start))-\(round($0.end)) \($0.text.trimmingCharacters(in: .whitespaces))" }
        let want = expected.map { "\(round($0.start))-\(round($0.end)) \($0.text.trimmingCharacters(in: .whitespaces))" }
        let equal = zip(got, want).filter { $0 == $1 }.count
        print("\(key) --vad on \(c.name) (\(String(format: "%.1f", audio.duration)) s): \(equal) of \(want.count) segments equal "
              + "to faster-whisper's vad_filter=True (start, end, text); \(got.count) segments; \(String(format: "%.0f", r.timings.totalMs)) ms")
        if got == want { return [] }
        return zip(got, want).filter { $0 != $1 }.map { "\(key): \($0) vs \($1)" } + (got.count != want.count ? ["\(key): \(got.count) segments vs \(want.count)"] : [])
    }
}
