import Foundation
import Testing
import EarshotTestSupport
@testable import EarshotAudio

/// Whisper's front end as faster-whisper 1.2.1 computes it, on the ten recordings of the speech
/// set: 160 zero samples appended, log-mel over the whole clip (normalised by its global maximum),
/// the window zero-padded to 3000 frames in the normalised domain. The reference numbers
/// (`features` in faster-whisper-reference.json) are faster-whisper's own float32 features.
@Suite struct WhisperFeatureParityTests {
    struct Reference: Decodable {
        let samples: Int
        let framesTotal: Int
        let contentFrames: Int
        let log10Max: Double
        let windowSum: Double
        let windowSumSquares: Double
        let firstFrame: [Float]
        let lastContentFrame: [Float]
        enum CodingKeys: String, CodingKey {
            case samples, framesTotal = "frames_total", contentFrames = "content_frames", log10Max = "log10_max"
            case windowSum = "window_sum", windowSumSquares = "window_sum_squares", firstFrame = "first_frame"
            case lastContentFrame = "last_content_frame"
        }
    }

    static let references: [String: Reference] = {
        struct File: Decodable { let features: [String: Reference] }
        let url = Fixtures.speech.appendingPathComponent("faster-whisper-reference.json")
        guard let data = try? Data(contentsOf: url), let file = try? JSONDecoder().decode(File.self, from: data) else { return [:] }
        return file.features
    }()

    @Test(arguments: (1...10).map { String(format: "h%02d.wav", $0) })
    func featuresMatchFasterWhisper(file: String) throws {
        let ref = try #require(Self.references[file], "no reference features for \(file)")
        let audio = try AudioDecoder.load(path: Fixtures.speech.appendingPathComponent(file).path)
        #expect(audio.count == ref.samples)
        let padded = audio.array + [Float](repeating: 0, count: 160)
        let mel = try MelSpectrogram(bins: 80)
        let features = try padded.withUnsafeBufferPointer { try mel.compute($0, name: file) }
        #expect(features.frames == ref.framesTotal)
        let values = features.array   // [80, frames]
        let frames = features.frames, content = frames - 1
        #expect(content == ref.contentFrames)
        // The normalised maximum is (log10_max + 4) / 4.
        let maxValue = Double(values.max() ?? 0)
        #expect(abs(maxValue - (ref.log10Max + 4) / 4) < 1e-5)
        // The window: content frames, then zeros up to 3000.
        var sum = 0.0, squares = 0.0
        for b in 0..<80 {
            for t in 0..<min(content, 3000) {
                let v = Double(values[b * frames + t])
                sum += v
                squares += v * v
            }
        }
        #expect(abs(sum - ref.windowSum) < 1e-4 * max(1, abs(ref.windowSum)) + 0.01)
        #expect(abs(squares - ref.windowSumSquares) < 1e-4 * max(1, ref.windowSumSquares))
        let first = (0..<80).map { values[$0 * frames] }
        let last = (0..<80).map { values[$0 * frames + content - 1] }
        let err = max(zip(first, ref.firstFrame).map { abs($0 - $1) }.max() ?? 1,
                      zip(last, ref.lastContentFrame).map { abs($0 - $1) }.max() ?? 1)
        print("\(file): max |mel - faster-whisper| over the first and last content frames = \(err)")
        #expect(err < 1e-4)
    }
}
