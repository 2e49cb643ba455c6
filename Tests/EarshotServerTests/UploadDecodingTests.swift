import EarshotAudio
import EarshotModels
import EarshotRuntime
import EarshotServer
import EarshotTestSupport
import Foundation
import Testing

/// Hostile uploads against a running server: a playlist naming one of the server's files, audio
/// far over the duration limit, and a decoder that never ends, stopped by the timeout, by the
/// client leaving and by shutdown. Decoders here are stand-in scripts (`ffmpeg` setting), so the
/// tests control exactly how long decoding takes.
@Suite(.serialized) struct UploadDecodingTests {
    /// A stand-in ffmpeg that writes its pid to `pidFile`, reads its input and then never ends.
    static func stallingDecoder() throws -> (executable: String, pidFile: String, cleanup: @Sendable () -> Void) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-stall-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = dir.appendingPathComponent("ffmpeg"), pidFile = dir.appendingPathComponent("pid").path
        try "#!/bin/sh\necho $$ > \(pidFile)\ncat > /dev/null\nsleep 300\n".write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        return (script.path, pidFile, { try? FileManager.default.removeItem(at: dir) })
    }

    static func oggUpload() throws -> MultipartBody {
        let data = try Data(contentsOf: Fixtures.root.appendingPathComponent("audio-formats/fox.ogg"))
        return MultipartBody(model: "tiny", file: Array(data), filename: "fox.ogg")
    }

    /// Waits until the decoder recorded in `pidFile` has started, then until it is gone.
    static func decoderPid(_ pidFile: String) async -> Int32? {
        // Until the number is there, not only the file: the shell creates the file before it writes.
        func read() -> Int32? {
            (try? String(contentsOfFile: pidFile, encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        _ = await ServerFixtures.eventually(seconds: 10) { read() != nil }
        return read()
    }

    static func isGone(_ pid: Int32) async -> Bool {
        await ServerFixtures.eventually(seconds: 10) { kill(pid, 0) != 0 }
    }

    /// The reported hole: a playlist naming a file on the server is refused, whatever its name,
    /// and the answer names neither the file nor any server path.
    @Test func aPlaylistUploadIsRefusedUnread() async throws {
        let server = try await RunningServer.start()
        let secret = Fixtures.root.appendingPathComponent("audio-formats/fox.flac").path
        for filename in ["x.wav", "x.m3u8", "x"] {
            let playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n\(secret)\n"
            let reply = try await server.transcribe(MultipartBody(model: "tiny", file: Array(playlist.utf8), filename: filename))
            #expect(reply.status == 400 && reply.errorCode == "invalid_audio", "\(filename): \(reply.body)")
            #expect(reply.errorMessage.contains("playlist"))
            #expect(!reply.body.contains(secret) && !reply.body.contains("/tmp"))
        }
        try await server.stop()
    }

    /// A 4 MB WAV declaring 100 Hz is 20,000 s: refused from its header against the default
    /// two-hour limit, before a sample is decoded.
    @Test func audioOverTheDurationLimitIsRefusedFromItsHeader() async throws {
        let server = try await RunningServer.start()
        #expect(server.service.configuration.maxAudioSeconds == 7200)
        var wav = Array("RIFF".utf8) + le32(36 + 4_000_000) + Array("WAVEfmt ".utf8) + le32(16)
        wav += le16(1) + le16(1) + le32(100) + le32(200) + le16(2) + le16(16)
        wav += Array("data".utf8) + le32(4_000_000) + [UInt8](repeating: 0, count: 4_000_000)
        let reply = try await server.transcribe(MultipartBody(model: "tiny", file: wav, filename: "slow.wav"))
        #expect(reply.status == 400 && reply.errorCode == "audio_too_long", "\(reply.body)")
        #expect(reply.errorMessage.contains("20000 s") && reply.errorMessage.contains("7200 s"))
        try await server.stop()
    }

    /// Decoding counts against the request timeout: a decoder that never ends is killed and the
    /// client gets 504 at the timeout, and the slot is free for the next request.
    @Test func aDecoderThatNeverEndsTimesOut() async throws {
        let decoder = try Self.stallingDecoder()
        defer { decoder.cleanup() }
        let server = try await RunningServer.start { $0.ffmpeg = decoder.executable; $0.timeoutSeconds = 1 }
        let started = ContinuousClock.now
        let reply = try await server.transcribe(try Self.oggUpload())
        #expect(reply.status == 504 && reply.errorCode == "timeout", "\(reply.body)")
        #expect(ContinuousClock.now - started < .seconds(10))
        let pid = try #require(await Self.decoderPid(decoder.pidFile))
        #expect(await Self.isGone(pid))
        // The slot came back: the next request is admitted and decoded (a header error, fast
        // enough for the 1 s timeout), rather than waiting behind the dead decode.
        let next = try await server.transcribe(MultipartBody(model: "tiny", file: Array("RIFF\u{0}\u{0}".utf8), filename: "t.wav"))
        #expect(next.status == 400 && next.errorCode == "invalid_audio", "\(next.body)")
        try await server.stop()
    }

    /// A client that leaves while its upload is decoding kills the decoder.
    @Test func aClientThatLeavesKillsItsDecoder() async throws {
        let decoder = try Self.stallingDecoder()
        defer { decoder.cleanup() }
        let server = try await RunningServer.start { $0.ffmpeg = decoder.executable }
        let form = try Self.oggUpload()
        let client = Task { try await server.transcribe(form) }
        let pid = try #require(await Self.decoderPid(decoder.pidFile))
        client.cancel()
        _ = await client.result
        #expect(await Self.isGone(pid))
        #expect(try await server.transcribe(.audio("short")).status == 200)
        try await server.stop()
    }

    /// Shutdown does not wait for a decoder that never ends: past the grace after the signal it
    /// is killed, the request gets 503 and the server stops long before the 300 s timeout.
    @Test func shutdownStopsADecoderThatNeverEnds() async throws {
        let decoder = try Self.stallingDecoder()
        defer { decoder.cleanup() }
        let server = try await RunningServer.start { $0.ffmpeg = decoder.executable; $0.shutdownDecodeGraceSeconds = 0.5 }
        let form = try Self.oggUpload()
        let inFlight = Task { try await server.transcribe(form) }
        let pid = try #require(await Self.decoderPid(decoder.pidFile))
        let started = ContinuousClock.now
        try await server.stop()
        #expect(ContinuousClock.now - started < .seconds(10))
        let reply = try await inFlight.value
        #expect(reply.status == 503 && reply.errorCode == "shutting_down", "\(reply.body)")
        #expect(await Self.isGone(pid))
    }
}

private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }

/// A weight file changed on disk under a loaded model is its own answer: 503 with a code that
/// says so, not a generic load failure.
@Test func aModelWhoseFilesChangedIsA503WithItsOwnCode() {
    let error = APIError.from(RuntimeError.model(.weightsChanged("model.safetensors was truncated")))
    #expect("\(error.status)".hasPrefix("503") && error.code == "model_files_changed")
    #expect(error.description.contains("model.safetensors was truncated"))
}
