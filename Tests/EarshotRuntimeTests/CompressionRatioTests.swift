import EarshotRuntime
import Testing

/// The compression ratio decides Whisper's temperature fallback at 2.4, so it must be Python's
/// `len(text) / len(zlib.compress(text))` exactly.
@Suite struct CompressionRatioTests {
    /// Sizes from Python's `len(zlib.compress(text.encode()))` (zlib 1.2.13, default level).
    @Test func sizesAreZlibs() {
        let cases: [(String, Int)] = [
            ("", 8), ("Hello.", 14), ("Hello there.", 20), ("The quick brown fox jumps over the lazy dog.", 51),
            (String(repeating: "thank you ", count: 9), 21), ("Привет, как дела? Всё хорошо, спасибо.", 73),
            ("今日はいい天気ですね。散歩に行きましょう。", 70), ("Grüße, 世界 🎧", 29),
        ]
        for (text, zlib) in cases {
            #expect(CompressionRatio.zlibBytes(Array(text.utf8)) == zlib, "\(text)")
        }
    }

    @Test func loopsAreFlagged() {
        #expect(CompressionRatio.of("") == 0)
        #expect(CompressionRatio.of("Hello there.") == 0.6)
        #expect(CompressionRatio.of("So the plan for the quarter is simple. We ship the server first.") < 2.4)
        #expect(CompressionRatio.of(String(repeating: "thank you ", count: 30)) > 2.4)
    }
}
