import EarshotAudio
import EarshotModels
import EarshotRuntime
import Foundation

/// faster-whisper's Silero VAD results (`Tests/Fixtures/vad/silero-reference.json`, written by
/// `bench/vad-reference.py`) and the check of Earshot's against them: the same speech ranges within
/// one 512-sample window, the same probabilities within a tolerance. Used by `earshot bench vad`
/// and the tests.
public struct VADReference: Decodable, Sendable {
    public struct Case: Decodable, Sendable {
        public struct Recipe: Decodable, Sendable {
            public var file: String?
            public var join: [String]?
            public var gaps_s: [Double]?
            public var zeros_s: Int?
            public var noise_s: Int?
            public var amplitude: Double?
            public var seed: UInt64?
        }
        public struct Options: Decodable, Sendable {
            public var max_speech_duration_s: Double?
            public var min_speech_duration_ms: Int?
            public var min_silence_duration_ms: Int?
            public var speech_pad_ms: Int?
        }
        public var name: String
        public var recipe: Recipe
        public var samples: Int
        public var options: Options
        public var ranges: [[Int]]
        public var max_probability: Double
        public var probabilities: [Float]?
        /// faster-whisper's `transcribe(vad_filter=True, language="en")` segments [start, end, text] per model.
        public var transcripts: [String: [Segment]]?

        public struct Segment: Decodable, Sendable {
            public var start: Double, end: Double, text: String
            public init(from decoder: any Decoder) throws {
                var c = try decoder.unkeyedContainer()
                start = try c.decode(Double.self)
                end = try c.decode(Double.self)
                text = try c.decode(String.self)
            }
        }

        /// The VADOptions the case was made with.
        public var vadOptions: VADOptions {
            var o = VADOptions()
            if let v = options.max_speech_duration_s { o.maxSpeechDurationS = v }
            if let v = options.min_speech_duration_ms { o.minSpeechDurationMs = v }
            if let v = options.min_silence_duration_ms { o.minSilenceDurationMs = v }
            if let v = options.speech_pad_ms { o.speechPadMs = v }
            return o
        }

        /// The case's audio, by the script's recipe; paths are relative to `root` (the repository).
        public func audio(root: URL) throws -> [Float] {
            func wav(_ path: String) throws -> [Float] { try AudioDecoder.load(path: root.appendingPathComponent(path).path).array }
            if let file = recipe.file { return try wav(file) }
            if let files = recipe.join, let gaps = recipe.gaps_s, !gaps.isEmpty {
                var out: [Float] = []
                for (i, f) in files.enumerated() {
                    out += try wav(f)
                    out += [Float](repeating: 0, count: Int(gaps[i % gaps.count] * 16000))
                }
                return out
            }
            guard let zeros = recipe.zeros_s, let noise = recipe.noise_s, let amplitude = recipe.amplitude,
                  let seed = recipe.seed, (0...3600).contains(zeros), (0...3600).contains(noise) else {
                throw VADReferenceError.badRecipe(name)
            }
            return [Float](repeating: 0, count: zeros * 16000) + Self.lcgNoise(count: noise * 16000, amplitude: amplitude, seed: seed)
        }

        /// x <- 6364136223846793005 x + 1442695040888963407 (mod 2^64); u = top 24 bits / 2^24;
        /// sample = Float((2u - 1) * amplitude): the script's generator, sample for sample.
        public static func lcgNoise(count: Int, amplitude: Double, seed: UInt64) -> [Float] {
            var x = seed
            return (0..<count).map { _ in
                x = x &* 6364136223846793005 &+ 1442695040888963407
                return Float((2 * (Double(x >> 40) / Double(1 << 24)) - 1) * amplitude)
            }
        }
    }

    public var faster_whisper: String
    public var model_sha256: String
    public var cases: [Case]

    public static func load(_ path: String) throws -> VADReference {
        try JSONDecoder().decode(VADReference.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// One case compared.
    public struct Outcome: Sendable {
        public var name: String
        public var seconds: Double
        public var ranges: [Range<Int>]
        public var expected: [[Int]]
        /// Largest |Earshot - faster-whisper| window probability (nil: the reference has none).
        public var probabilityError: Float?
        public var vadMs: Double
        /// Same number of ranges, every bound within one window.
        public var agrees: Bool {
            ranges.count == expected.count && zip(ranges, expected).allSatisfy {
                abs($0.lowerBound - $1[0]) <= 512 && abs($0.upperBound - $1[1]) <= 512
            }
        }
    }

    /// Runs `model` on `c`.
    public static func compare(_ c: Case, model: SileroVADModel, root: URL) throws -> Outcome {
        let samples = try c.audio(root: root)
        guard samples.count == c.samples else { throw VADReferenceError.badRecipe("\(c.name): \(samples.count) samples, \(c.samples) expected") }
        let clock = ContinuousClock()
        let start = clock.now
        let p = try samples.withUnsafeBufferPointer { try model.speechProbabilities($0) }
        let vadMs = (clock.now - start).milliseconds
        let ranges = SpeechTimestamps.ranges(probabilities: p, sampleCount: samples.count, options: c.vadOptions)
        var error: Float?
        if let e = c.probabilities {
            error = e.count == p.count ? zip(p, e).map { abs($0 - $1) }.max() ?? 0 : .infinity
        }
        return Outcome(name: c.name, seconds: Double(samples.count) / 16000, ranges: ranges, expected: c.ranges,
                       probabilityError: error, vadMs: vadMs)
    }
}

public enum VADReferenceError: Error, CustomStringConvertible {
    case badRecipe(String)
    public var description: String {
        switch self { case .badRecipe(let m): return "VAD reference: cannot rebuild the audio of case \(m)" }
    }
}
