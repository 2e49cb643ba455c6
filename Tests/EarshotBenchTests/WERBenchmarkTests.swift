import EarshotAudio
import EarshotModels
import EarshotRuntime
import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotBench

/// `earshot bench wer`: the README's faster-whisper figure, set and reference loading, report arithmetic
/// and JSON, a run with a fake transcriber, and (with real weights) two files through tiny.en.
@Suite struct WERBenchmarkTests {}

// MARK: - The speech set's figures

extension WERBenchmarkTests {
    @Suite struct FasterWhisperFigureTests {
        /// faster-whisper 1.2.1 greedy tiny.en on the set: the README quotes 18.8% (15 / 80 words).
        @Test func fasterWhisperTinyOnTheSetGivesTheReadmeFigure() throws {
            let set = try SpeechSet.load(directory: Fixtures.speech.path)
            let hypotheses = [
                "The birch can use lid on the smooth planks.", "glue the sheet to the dark blue background.",
                "It's easy to tell the depth of a well.", "These days of chicken leg is a rare dish.",
                "rising off and served in round world.", "The juice of lemons makes fine punch.",
                "The box was thrown beside the product truck.", "The hogs were fed chopped corn and garbage.",
                "4 hours of steady work, face pass.", "large size in talking this hard to sell.",
            ]
            let measurements = zip(set.items, hypotheses).map {
                WERReport.Measurement(item: $0, hypothesis: $1, seconds: 0, audioSeconds: 1)
            }
            let report = WERReport(model: "m", precision: "p", threads: 1, measurements: measurements)
            #expect(report.total.words == 80 && report.total.errors == 15)
            #expect(ReportFormatting.number(100 * report.total.wer, decimals: 1) == "18.8")
        }
    }
}

// MARK: - Loading the set and reference transcripts

extension WERBenchmarkTests {
    @Suite struct LoadingTests {
        @Test func theCommittedSetLoads() throws {
            let set = try SpeechSet.load(directory: Fixtures.speech.path)
            #expect(set.items.count == 10)
            #expect(set.items[0].audio == "h01.wav" && set.items[0].text == "The birch canoe slid on the smooth planks.")
            #expect(set.items.allSatisfy { FileManager.default.fileExists(atPath: $0.path) })
        }

        @Test func missingOrBrokenSetsAreTypedErrors() throws {
            let dir = try TempSet()
            #expect(throws: SpeechSetError.missingDirectory(dir.url.path + "/nope")) {
                try SpeechSet.load(directory: dir.url.path + "/nope")
            }
            let manifest = dir.url.appendingPathComponent("transcripts.json").path
            #expect(throws: SpeechSetError.missingTranscripts(manifest)) { try SpeechSet.load(directory: dir.url.path) }

            try dir.manifest("not json")
            #expect(throws: SpeechSetError.malformed(path: manifest, reason: "not valid JSON")) {
                try SpeechSet.load(directory: dir.url.path)
            }
            try dir.manifest(#"{"items": [{"audio": "a.wav"}]}"#)
            #expect(throws: SpeechSetError.malformed(path: manifest, reason: "missing 'text' at .items[0]")) {
                try SpeechSet.load(directory: dir.url.path)
            }
            try dir.manifest(#"{"items": []}"#)
            #expect(throws: SpeechSetError.empty(manifest)) { try SpeechSet.load(directory: dir.url.path) }
            try dir.manifest(#"{"items": [{"audio": "gone.wav", "text": "x"}]}"#)
            #expect(throws: SpeechSetError.missingAudio(dir.url.appendingPathComponent("gone.wav").path)) {
                try SpeechSet.load(directory: dir.url.path)
            }
            try dir.wav("a.wav")
            try dir.manifest(#"{"items": [{"audio": "a.wav", "text": "x"}, {"audio": "a.wav", "text": "y"}]}"#)
            #expect(throws: SpeechSetError.duplicateAudio(path: manifest, audio: "a.wav")) {
                try SpeechSet.load(directory: dir.url.path)
            }
            try dir.manifest(#"{"items": [{"audio": "a.wav", "text": "x", "voice": "any"}], "source": "s"}"#)
            #expect(try SpeechSet.load(directory: dir.url.path).items.map(\.text) == ["x"])
        }

        @Test func referenceKeysMayContainDotsAndAreFoundWhenNested() throws {
            let json: [String: Any] = [
                "settings": ["language": "en"],
                "models": ["tiny.en": ["float32": ["h01.wav": "a", "h02.wav": "b"], "int8": ["h01.wav": "c"]]],
                "tokens": ["tiny.en": ["float32": ["h01.wav": [1, 2]]]],
            ]
            let select = { (key: String) throws(SpeechSetError) in try ReferenceTranscripts.select(json, key: key, path: "r.json") }
            #expect(try select("models.tiny.en.float32") == ["h01.wav": "a", "h02.wav": "b"])
            // Not at the top: the one nested match with string values (tokens.tiny.en.float32 holds arrays).
            #expect(try select("tiny.en.float32") == ["h01.wav": "a", "h02.wav": "b"])
            #expect(try select("tiny.en.int8") == ["h01.wav": "c"])
            #expect(throws: SpeechSetError.referenceKeyNotFound(path: "r.json", key: "tiny.en.q4",
                                                                available: ["models", "settings", "tokens"])) {
                try select("tiny.en.q4")
            }
            // The whole file must then be the object.
            #expect(throws: SpeechSetError.self) { try select("") }
            #expect(try ReferenceTranscripts.select(["h01.wav": "x"], key: "", path: "r.json") == ["h01.wav": "x"])
            // Ambiguous nested matches are refused rather than guessed.
            let twice: [String: Any] = ["a": ["k": ["f": "1"]], "b": ["k": ["f": "2"]]]
            #expect(throws: SpeechSetError.referenceKeyNotFound(path: "r.json", key: "k", available: ["(2 nested matches)"])) {
                try ReferenceTranscripts.select(twice, key: "k", path: "r.json")
            }
        }

        @Test func referenceFilesAreCheckedAgainstTheSet() throws {
            let dir = try TempSet()
            try Data(#"{"runs": {"x.y": {"h01.wav": " A b. "}}}"#.utf8).write(to: dir.url.appendingPathComponent("ref.json"))
            let path = dir.url.appendingPathComponent("ref.json").path
            let texts = try ReferenceTranscripts.load(path: path, key: "runs.x.y")
            #expect(texts == ["h01.wav": " A b. "])
            let set = SpeechSet(directory: "d", items: [.init(audio: "h01.wav", text: "a b", path: "d/h01.wav"),
                                                        .init(audio: "h02.wav", text: "c", path: "d/h02.wav")])
            #expect(throws: SpeechSetError.referenceMissingFile(path: path, audio: "h02.wav")) {
                try ReferenceTranscripts.check(texts, covers: set, path: path)
            }
            #expect(throws: SpeechSetError.malformed(path: path + ".missing", reason: "cannot read the file")) {
                try ReferenceTranscripts.load(path: path + ".missing", key: nil)
            }
        }
    }
}

// MARK: - Report

extension WERBenchmarkTests {
    @Suite struct ReportTests {
        static let items: [SpeechSet.Item] = [
            .init(audio: "a.wav", text: "The cat sat on the mat.", path: "/s/a.wav"),   // 6 words
            .init(audio: "b.wav", text: "It's four o'clock", path: "/s/b.wav"),         // 3 words
            .init(audio: "c.wav", text: "Hello, world!", path: "/s/c.wav"),             // 2 words
        ]
        static let measurements = [
            WERReport.Measurement(item: items[0], hypothesis: "the cat sit on mat", seconds: 0.5, audioSeconds: 2),
            WERReport.Measurement(item: items[1], hypothesis: "it's 4 o'clock now", seconds: 0.25, audioSeconds: 1.5),
            WERReport.Measurement(item: items[2], hypothesis: " Hello world. ", seconds: 0.25, audioSeconds: 1.5),
        ]

        @Test func perFileCountsAndTotalsAreSummedNotAveraged() {
            let r = WERReport(model: "m", precision: "q8", threads: 2, measurements: Self.measurements)
            #expect(r.files.map(\.words) == [6, 3, 2])
            #expect(r.files.map(\.substitutions) == [1, 1, 0])
            #expect(r.files.map(\.deletions) == [1, 0, 0])
            #expect(r.files.map(\.insertions) == [0, 1, 0])
            #expect(r.files[0].wer == 2.0 / 6 && r.files[1].wer == 2.0 / 3 && r.files[2].wer == 0)
            #expect(r.total.words == 11 && r.total.errors == 4 && r.total.wer == 4.0 / 11)
            #expect(r.total.seconds == 1 && r.total.audioSeconds == 5 && r.total.rtf == 0.2)
            #expect(r.referenceEngine == nil && r.files.allSatisfy { $0.identicalToReference == nil })
        }

        @Test func referenceEngineIdentityIsAfterTrimmingAndItsWERSummed() {
            let texts = ["a.wav": "the cat sat on the mat", "b.wav": "it's 4 o'clock now\n", "c.wav": "Hello world."]
            let r = WERReport(model: "m", precision: "q8", threads: 2, measurements: Self.measurements, referenceTexts: texts)
            #expect(r.files.map(\.identicalToReference) == [false, true, true])
            // The reference engine: a exact, b as Earshot's (2 errors), c exact: 2 over 11 words.
            #expect(r.referenceEngine == .init(identical: 2, wer: 2.0 / 11))
            let table = r.table()
            #expect(table.contains("| Same as ref |") && table.contains("Reference engine: 2/3 files identical; its WER 18.2%"))
            #expect(table.contains("WER: 36.4% (4 errors = 2 S + 1 D + 1 I, over 11 words, 3 files)"))
        }

        @Test func emptySetsAndSilentAudioDoNotDivideByZero() {
            let r = WERReport(model: "m", precision: "p", threads: 1, measurements: [])
            #expect(r.total == .init(words: 0, errors: 0, wer: 0, seconds: 0, audioSeconds: 0, rtf: 0))
        }

        @Test func jsonHasTheDocumentedShape() throws {
            let plain = WERReport(model: "tiny", precision: "as stored", threads: 2, measurements: Self.measurements)
            let object = try #require(JSONSerialization.jsonObject(with: try plain.json()) as? [String: Any])
            #expect(Set(object.keys) == ["model", "precision", "threads", "files", "total"])
            #expect(object["model"] as? String == "tiny" && object["threads"] as? Int == 2)
            let files = try #require(object["files"] as? [[String: Any]])
            #expect(files.count == 3)
            #expect(Set(files[0].keys) == ["file", "reference", "hypothesis", "words", "substitutions", "deletions",
                                           "insertions", "wer", "seconds", "audio_seconds"])
            #expect(files[1]["hypothesis"] as? String == "it's 4 o'clock now" && files[1]["words"] as? Int == 3)
            let total = try #require(object["total"] as? [String: Any])
            #expect(Set(total.keys) == ["words", "errors", "wer", "seconds", "audio_seconds", "rtf"])
            #expect(total["errors"] as? Int == 4)

            let compared = WERReport(model: "tiny", precision: "q8", threads: 2, measurements: Self.measurements,
                                     referenceTexts: ["a.wav": "x", "b.wav": "y", "c.wav": "Hello world."])
            let withRef = try #require(JSONSerialization.jsonObject(with: try compared.json()) as? [String: Any])
            let engine = try #require(withRef["reference_engine"] as? [String: Any])
            #expect(Set(engine.keys) == ["identical", "wer"] && engine["identical"] as? Int == 1)
            let refFiles = try #require(withRef["files"] as? [[String: Any]])
            #expect(refFiles.map { $0["identical_to_reference"] as? Bool } == [false, false, true])
            // And it reads back as the same report.
            #expect(try JSONDecoder().decode(WERReport.self, from: compared.json()) == compared)
        }
    }
}

// MARK: - Running

extension WERBenchmarkTests {
    @Suite struct RunTests {
        @Test func everyItemIsTranscribedInOrderAndTimed() throws {
            let dir = try TempSet()
            try dir.wav("one.wav", samples: 16_000)
            try dir.wav("two.wav", samples: 8_000)
            try dir.manifest(#"{"items": [{"audio": "one.wav", "text": "one"}, {"audio": "two.wav", "text": "two words"}]}"#)
            let set = try SpeechSet.load(directory: dir.url.path)
            var seen: [Int] = []
            var progressed: [String] = []
            let measurements = try WERBenchmark(set: set).run(transcribe: { samples in
                seen.append(samples.count)
                return samples.count == 16_000 ? "one" : "two"
            }, progress: { progressed.append($0.item.audio) })
            #expect(seen == [16_000, 8_000] && progressed == ["one.wav", "two.wav"])
            #expect(measurements.map(\.audioSeconds) == [1, 0.5])
            #expect(measurements.allSatisfy { $0.seconds >= 0 })
            let r = WERReport(model: "fake", precision: "-", threads: 1, measurements: measurements)
            #expect(r.total.words == 3 && r.total.errors == 1)
        }

        @Test func aFailingTranscriptionStopsTheRun() throws {
            let dir = try TempSet()
            try dir.wav("one.wav")
            try dir.manifest(#"{"items": [{"audio": "one.wav", "text": "one"}]}"#)
            let set = try SpeechSet.load(directory: dir.url.path)
            #expect(throws: RuntimeError.self) {
                _ = try WERBenchmark(set: set).run(transcribe: { _ throws(RuntimeError) in throw .cancelled })
            }
        }

        @Test(.enabled(if: WhisperFixtures.available("tiny.en")))
        func tinyEnTranscribesTwoFilesOfTheSet() throws {
            var set = try SpeechSet.load(directory: Fixtures.speech.path)
            set.items = Array(set.items.prefix(2))
            let model = try ModelRegistry.load(directory: try WhisperFixtures.require("tiny.en").path)
            defer { model.close() }
            let measurements = try WERBenchmark(set: set, options: .init(language: "en")).run(model: model)
            let r = WERReport(model: "tiny.en", precision: "as stored", threads: 1, measurements: measurements)
            #expect(r.files.map(\.file) == ["h01.wav", "h02.wav"] && r.total.words == 16)
            // faster-whisper's greedy output: "The birch can use lid ..." (3 errors), h02 exact.
            #expect(r.files[1].hypothesis.lowercased() == "glue the sheet to the dark blue background.")
            #expect(r.files[1].wer == 0 && r.total.errors <= 3)
            #expect(r.total.seconds > 0 && r.total.audioSeconds > 4 && r.total.rtf > 0)
        }
    }
}

/// A temporary directory for a speech set, removed when the value goes away.
private final class TempSet {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-set-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func manifest(_ text: String) throws {
        try Data(text.utf8).write(to: url.appendingPathComponent("transcripts.json"))
    }

    /// A 16 kHz mono PCM16 WAV of silence.
    func wav(_ name: String, samples: Int = 1_600) throws {
        var bytes: [UInt8] = []
        func le(_ v: Int, _ n: Int) { for i in 0..<n { bytes.append(UInt8((v >> (8 * i)) & 0xFF)) } }
        bytes += Array("RIFF".utf8); le(36 + 2 * samples, 4); bytes += Array("WAVE".utf8)
        bytes += Array("fmt ".utf8); le(16, 4); le(1, 2); le(1, 2); le(16_000, 4); le(32_000, 4); le(2, 2); le(16, 2)
        bytes += Array("data".utf8); le(2 * samples, 4)
        bytes += [UInt8](repeating: 0, count: 2 * samples)
        try Data(bytes).write(to: url.appendingPathComponent(name))
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
