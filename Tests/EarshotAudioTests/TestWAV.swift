import Foundation
import Testing
@testable import EarshotAudio

/// Builds WAV file images in memory for tests (our own writer: tests must not depend on tools).
struct TestWAV {
    enum Container { case riff, rf64, rf64WithoutDS64 }

    var formatCode: UInt16 = 1
    var channels: UInt16 = 1
    var sampleRate: UInt32 = 16_000
    var bitsPerSample: UInt16 = 16
    var extensible = false
    var container = Container.riff
    /// Chunks inserted between `fmt ` and `data`: (id, body).
    var extraChunks: [(String, [UInt8])] = []
    /// Overrides the data chunk's declared size (for hostile headers).
    var declaredDataSize: UInt32?
    var data: [UInt8] = []

    var blockAlign: UInt16 { channels &* bitsPerSample / 8 }

    func bytes() -> [UInt8] {
        var fmt: [UInt8] = []
        if extensible {
            fmt += le16(0xFFFE) + le16(channels) + le32(sampleRate)
            fmt += le32(sampleRate &* UInt32(blockAlign)) + le16(blockAlign) + le16(bitsPerSample)
            fmt += le16(22) + le16(bitsPerSample) + le32(0)
            fmt += le16(formatCode) + WAVHeaderParser.guidSuffix
        } else {
            fmt += le16(formatCode) + le16(channels) + le32(sampleRate)
            fmt += le32(sampleRate &* UInt32(blockAlign)) + le16(blockAlign) + le16(bitsPerSample)
        }
        var body: [UInt8] = Array("WAVE".utf8)
        if container == .rf64 {
            body += chunk("ds64", le64(UInt64(4 + 28 + fmt.count + 8 + data.count)) + le64(UInt64(data.count))
                          + le64(UInt64(data.count) / UInt64(max(blockAlign, 1))) + le32(0))
        }
        body += chunk("fmt ", fmt)
        for (id, content) in extraChunks { body += chunk(id, content) }
        let dataSize: UInt32 = container == .riff ? (declaredDataSize ?? UInt32(data.count)) : 0xFFFF_FFFF
        body += Array("data".utf8) + le32(dataSize) + data
        let magic = container == .riff ? "RIFF" : "RF64"
        let riffSize: UInt32 = container == .riff ? UInt32(body.count) : 0xFFFF_FFFF
        return Array(magic.utf8) + le32(riffSize) + body
    }

    func chunk(_ id: String, _ content: [UInt8]) -> [UInt8] {
        Array(id.utf8) + le32(UInt32(content.count)) + content + (content.count % 2 == 1 ? [0] : [])
    }

    /// Decodes these bytes with the library.
    func decode(name: String = "test.wav") throws -> AudioSamples {
        try decodeWAVBytes(bytes(), name: name)
    }
}

func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * $0)) & 0xFF) } }
func int16Bytes(_ v: [Int16]) -> [UInt8] { v.flatMap { le16(UInt16(bitPattern: $0)) } }
func float32Bytes(_ v: [Float]) -> [UInt8] { v.flatMap { le32($0.bitPattern) } }
func float64Bytes(_ v: [Double]) -> [UInt8] { v.flatMap { le64($0.bitPattern) } }

/// Decodes a WAV image held in an array.
func decodeWAVBytes(_ bytes: [UInt8], name: String = "test.wav") throws -> AudioSamples {
    try bytes.withUnsafeBytes { raw in try AudioDecoder.decodeWAV(bytes: raw, name: name) }
}

/// Runs a throwing body and returns its `AudioError` (nil if it succeeded; any other error is
/// recorded as a test issue).
func audioError<T>(_ body: () throws -> T) -> AudioError? {
    do {
        _ = try body()
        return nil
    } catch let error as AudioError {
        return error
    } catch {
        Issue.record("expected an AudioError, got \(error)")
        return nil
    }
}
