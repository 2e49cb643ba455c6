import Foundation
import EarshotTensor

/// Entry points from "a file or some bytes" to model-ready audio: mono, 16 kHz, conditioned.
///
/// WAV (RIFF/RF64) is parsed here directly from a read-only mapping of the file (no heap copy);
/// anything else goes through ffmpeg. Then, like the official package (spec §2.1): resample to
/// 16 kHz, and if the peak |x| exceeds 1 divide by the peak, then clip to [-1, 1].
public enum AudioDecoder {
    /// The model's sample rate.
    public static let modelRate = 16_000

    /// Loads a file as mono 16 kHz conditioned samples.
    /// `ffmpegSearchPath` overrides `$PATH` for locating ffmpeg (nil: use `$PATH`).
    public static func load(path: String, ffmpegSearchPath: String? = nil) throws(AudioError) -> AudioSamples {
        let name = (path as NSString).lastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: path)
        }
        guard !isDirectory.boolValue else { throw .unreadable(path: path, reason: "is a directory") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size > 0 else { throw .emptyAudio(name: name) }

        let mapped: PageBuffer
        do { mapped = try PageBuffer(mappingFile: path, owner: .audio) } catch {
            throw AudioError.from(error, path: path)
        }
        defer { mapped.close() }
        let bytes = UnsafeRawBufferPointer(start: mapped.raw, count: mapped.byteCount)
        let decoded: AudioSamples
        if try useWAVParser(bytes, name: name, searchPath: ffmpegSearchPath) {
            decoded = try decodeWAV(bytes: bytes, name: name)
        } else {
            decoded = try FFmpegDecoder.decode(path: path, name: name, searchPath: ffmpegSearchPath)
        }
        return try prepare(decoded)
    }

    /// Decodes in-memory file bytes (e.g. an upload) to mono 16 kHz conditioned samples.
    /// `name` is the original file name, used in messages and as the temporary file's extension
    /// hint for ffmpeg when the bytes are not WAV.
    public static func decode(bytes: UnsafeRawBufferPointer, name: String,
                              ffmpegSearchPath: String? = nil) throws(AudioError) -> AudioSamples {
        guard bytes.count > 0 else { throw .emptyAudio(name: name) }
        if try useWAVParser(bytes, name: name, searchPath: ffmpegSearchPath) {
            return try prepare(try decodeWAV(bytes: bytes, name: name))
        }
        let ext = (name as NSString).pathExtension
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("earshot-upload-\(UUID().uuidString)" + (ext.isEmpty ? "" : "." + ext))
        defer { try? FileManager.default.removeItem(at: url) }
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
              let handle = try? FileHandle(forWritingTo: url) else {
            throw .unreadable(path: url.path, reason: "cannot create a temporary file for ffmpeg input")
        }
        do {
            try handle.write(contentsOf: bytes)
            try handle.close()
        } catch {
            try? handle.close()
            throw .unreadable(path: url.path, reason: "cannot write temporary file: \(error)")
        }
        return try prepare(try FFmpegDecoder.decode(path: url.path, name: name, searchPath: ffmpegSearchPath))
    }

    /// Chooses the decoder: the WAV parser for RIFF/RF64 data, ffmpeg for everything else. A
    /// `.wav` name without RIFF magic goes to ffmpeg when it is installed (mislabelled files
    /// exist), otherwise to the WAV parser for a precise "corrupt header" error. Non-WAV input
    /// without ffmpeg is `decoderMissing` (checked before any temporary file is written).
    static func useWAVParser(_ bytes: UnsafeRawBufferPointer, name: String, searchPath: String?) throws(AudioError) -> Bool {
        if WAVHeaderParser.looksLikeWAV(bytes) { return true }
        if FFmpegDecoder.locate(searchPath: searchPath) != nil { return false }
        let ext = (name as NSString).pathExtension.lowercased()
        if ext == "wav" || ext == "wave" { return true }
        throw .decoderMissing("ffmpeg", "\(name) is not a WAV file and decoding it needs ffmpeg on PATH "
                              + "(install ffmpeg, or convert the audio to WAV)")
    }

    /// `Data` convenience for `decode(bytes:name:)`.
    public static func decode(data: Data, name: String, ffmpegSearchPath: String? = nil) throws(AudioError) -> AudioSamples {
        let result: Result<AudioSamples, AudioError> = data.withUnsafeBytes { raw in
            do throws(AudioError) {
                return .success(try decode(bytes: raw, name: name, ffmpegSearchPath: ffmpegSearchPath))
            } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Decodes a WAV file image to mono samples at the file's own rate (no resampling, no
    /// conditioning). Int16 mono input comes back exactly as x/32768.
    public static func decodeWAV(bytes: UnsafeRawBufferPointer, name: String) throws(AudioError) -> AudioSamples {
        let layout = try WAVHeaderParser.parse(bytes, name: name)
        return try WAVSampleDecoder.decode(bytes, layout: layout, name: name)
    }

    /// Resamples to 16 kHz (if needed) and conditions the result (always a new buffer when
    /// anything changes; the input is never modified).
    public static func prepare(_ samples: AudioSamples) throws(AudioError) -> AudioSamples {
        let resampled = try Resampler.resample(samples, to: modelRate)
        return try condition(resampled, inPlace: resampled.storage !== samples.storage)
    }

    /// Official conditioning: if peak |x| > 1, divide by the peak; then clip to [-1, 1].
    /// Returns the input itself when nothing needs to change.
    public static func condition(_ samples: AudioSamples) throws(AudioError) -> AudioSamples {
        try condition(samples, inPlace: false)
    }

    static func condition(_ samples: AudioSamples, inPlace: Bool) throws(AudioError) -> AudioSamples {
        let peak = samples.withUnsafeSamples { s -> Float in
            var m: Float = 0
            for v in s { m = max(m, abs(v)) }
            return m
        }
        guard peak > 1 else { return samples }   // already in [-1, 1]: clipping is a no-op
        let target = inPlace ? samples : try AudioSamples(storage: makeFloatBuffer(count: samples.count),
                                                          count: samples.count, sampleRate: samples.sampleRate)
        samples.withUnsafeSamples { s in
            let dst = target.storage.floats()
            for i in 0..<s.count { dst[i] = min(max(s[i] / peak, -1), 1) }
        }
        return target
    }
}
