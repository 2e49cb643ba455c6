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
