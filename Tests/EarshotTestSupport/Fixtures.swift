import Foundation

/// Locates the test fixtures committed under `Tests/Fixtures`, independent of the working directory.
public enum Fixtures {
    /// `Tests/Fixtures` in this checkout.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // EarshotTestSupport
        .deletingLastPathComponent()   // Tests
        .appendingPathComponent("Fixtures")

    /// The tiny random-weight Qwen3-ASR checkpoint with goldens from the official implementation.
    public static var qwenTiny: URL { root.appendingPathComponent("qwen3-asr-tiny") }
    public static var qwenTinyModel: URL { qwenTiny.appendingPathComponent("model") }

    public static func qwenTinyAudio(_ name: String) -> URL {
        qwenTiny.appendingPathComponent("audio/\(name).wav")
    }

    public static func qwenTinyGolden(_ name: String) -> URL {
        qwenTiny.appendingPathComponent("golden/\(name).safetensors")
    }

    /// The case ids listed in the fixture's manifest.json.
    public static let goldenCases = ["fox", "fox_lang", "fox_ctx", "long", "short"]

    /// The tiny random-weight Qwen3-ForcedAligner checkpoint with goldens from the official implementation.
    public static var alignerTiny: URL { root.appendingPathComponent("qwen3-forced-aligner-tiny") }
    public static var alignerTinyModel: URL { alignerTiny.appendingPathComponent("model") }

    /// `golden/<case>.safetensors` (tensors) or, with `json`, `golden/<case>.json` (words and items).
    public static func alignerTinyGolden(_ name: String, json: Bool = false) -> URL {
        alignerTiny.appendingPathComponent("golden/\(name).\(json ? "json" : "safetensors")")
    }

    /// The aligner fixture's cases (manifest.json), each over one of the Qwen3-ASR fixture's clips.
    public static let alignerCases = ["en_sentence", "en_punct_numbers", "zh_sentence", "en_repair", "long", "no_words"]
}

/// A small deterministic generator (SplitMix64) so random tests are reproducible.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform floats in [-scale, scale).
    public mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in Float.random(in: -scale..<scale, using: &self) }
    }
}

/// Real Whisper weights, installed by `scripts/fetch-whisper-models` (not committed: 70-145 MB each).
///
/// Tests that need them are enabled when the model is present. When `EARSHOT_REQUIRE_WHISPER=1`
/// (set by `.ci/run` and `scripts/test`, which run the fetch first) a missing model is a failure
/// instead, with a message saying how to fetch it.
public enum WhisperFixtures {
    /// `${EARSHOT_WHISPER_CACHE:-~/.cache/earshot/whisper}`.
    public static var cache: URL {
        if let dir = ProcessInfo.processInfo.environment["EARSHOT_WHISPER_CACHE"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/earshot/whisper")
    }

    public static var required: Bool { ProcessInfo.processInfo.environment["EARSHOT_REQUIRE_WHISPER"] == "1" }

    /// The model directory (e.g. "tiny.en", "base").
    public static func directory(_ name: String) -> URL { cache.appendingPathComponent(name) }

    public static func isInstalled(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: directory(name).appendingPathComponent("model.bin").path)
    }

    /// Whether a test needing `name` should run: installed, or required (then it fails loudly).
    public static func available(_ name: String) -> Bool { isInstalled(name) || required }

    /// The directory of `name`, or an error explaining how to get it.
    public static func require(_ name: String) throws -> URL {
        guard isInstalled(name) else { throw Missing(name: name, cache: cache.path) }
        return directory(name)
    }

    public struct Missing: Error, CustomStringConvertible {
        let name: String, cache: String
        public var description: String {
            "Whisper model '\(name)' is not installed in \(cache); run scripts/fetch-whisper-models (EARSHOT_REQUIRE_WHISPER=1 demands it)"
        }
    }
}

extension Fixtures {
    /// Ten recorded sentences with reference transcripts (`transcripts.json`) and faster-whisper's
    /// outputs on them (`faster-whisper-reference.json`).
    public static var speech: URL { root.appendingPathComponent("speech") }
}

/// Which sanitizer the suite runs under (`scripts/sanitize` sets EARSHOT_SANITIZER), so tests
/// that measure the process's own memory can step aside: under AddressSanitizer or
/// ThreadSanitizer, shadow memory and the freed-memory quarantine are what they would measure.
public enum Sanitizer {
    public static var name: String? { ProcessInfo.processInfo.environment["EARSHOT_SANITIZER"] }
    public static var isActive: Bool { name != nil }
}

/// One case of the aligner fixture's `golden/<case>.json`: the official processor's words and
/// `Qwen3ForcedAligner.align()`'s items (seconds).
public struct AlignerGolden: Decodable, Sendable {
    public struct Item: Decodable, Equatable, Sendable {
        public let text: String
        public let start_time: Double
        public let end_time: Double
        public init(text: String, start_time: Double, end_time: Double) {
            self.text = text
            self.start_time = start_time
            self.end_time = end_time
        }
    }
    public let text: String, language: String, audio: String
    public let word_list: [String]
    public let output_ids: [Int]
    public let timestamps_ms_fixed: [Int]
    public let items: [Item]

    public static func load(_ id: String) throws -> AlignerGolden {
        try JSONDecoder().decode(AlignerGolden.self, from: Data(contentsOf: Fixtures.alignerTinyGolden(id, json: true)))
    }
}
