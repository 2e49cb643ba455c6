#if canImport(Glibc)
import Glibc
#endif
import EarshotTestSupport
import Foundation
import NIOCore
import Testing

/// `kill -9` of `earshot serve` at any moment (idle, mid-upload, mid-decode, mid-transcription)
/// leaves nothing the next start trips over: it binds the same port at once (no "address in use"
/// from the dead process's sockets), loads the same model files and answers.
@Suite(.serialized) struct KillNineRestartTests {
    /// The server process and the port it reported.
    struct Serving {
        let process: Process
        let port: Int
    }

    /// Starts `earshot serve` on `port` (0: any) and waits for its "listening on" line.
    func serve(port: Int, extra: [String] = []) throws -> Serving {
        let p = Process()
        p.executableURL = CLIOptionTests.binary
        p.arguments = ["serve", "--models", "tiny=\(Fixtures.qwenTinyModel.path)", "--port", "\(port)"] + extra
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let reader = out.fileHandleForReading
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if let range = text.range(of: #"listening on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let port = Int(text[range].split(separator: ":").last!)!
                return Serving(process: p, port: port)
            }
        }
        p.terminate()
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "no listening line: \(text)"])
    }

    /// Upload bytes as a client would, without waiting for the answer.
    func startTranscription(port: Int, file: String, named name: String) async throws -> RawConnection {
        var form = MultipartBody(model: "tiny", file: Array(try Data(contentsOf: URL(fileURLWithPath: file))), filename: name)
        form.append(field: "response_format", "json")
        let body = form.buffer
        let c = try await RawConnection.open(port: port)
        await c.send("POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(form.contentType)\r\n"
                     + "Content-Length: \(body.readableBytes)\r\n\r\n")
        await c.send(Array(body.readableBytesView))
        return c
    }

    @Test(arguments: [0, 20, 150, 600])
    func killNineAtAnyMomentThenRestartOnTheSamePort(afterMilliseconds delay: Int) async throws {
        let first = try serve(port: 0, extra: ["--ignore-eos", "--max-tokens", "400"])
        // A WAV transcription (400 fixed tokens) and an MP3 (ffmpeg) under way when the kill lands.
        let mp3 = Fixtures.root.appendingPathComponent("audio-formats/fox.mp3").path
        let clients = [try await startTranscription(port: first.port, file: Fixtures.qwenTinyAudio("fox").path, named: "fox.wav"),
                       try await startTranscription(port: first.port, file: mp3, named: "fox.mp3")]
        try await Task.sleep(for: .milliseconds(delay))
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        #expect(first.process.terminationReason == .uncaughtSignal)
        for c in clients { await c.close() }

        let second = try serve(port: first.port)
        defer { second.process.terminate(); second.process.waitUntilExit() }
        #expect(second.port == first.port)
        let health = try await RawConnection.open(port: second.port)
        await health.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(await health.waitFor(#"{"status":"ok"}"#, seconds: 10), "\(health.text.prefix(200))")
        await health.close()
        let again = try await startTranscription(port: second.port, file: Fixtures.qwenTinyAudio("short").path, named: "short.wav")
        #expect(await again.waitFor("HTTP/1.1 200", seconds: 120), "\(again.text.prefix(300))")
        await again.close()
    }
}
