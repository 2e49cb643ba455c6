#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import EarshotTensor

/// Entry points from "a file or some bytes" to model-ready audio: mono, 16 kHz, conditioned.
///
/// The container is recognised from the bytes (`AudioContainer`). WAV (RIFF/RF64) is parsed here
/// directly from a read-only mapping of the file (no heap copy); the other supported containers go
/// through ffmpeg (`FFmpegDecoder`), anything else is refused. Then, like the official package
/// (`normalize_audio_input` in `qwen_asr/inference/utils.py`): resample to 16 kHz, and if the peak
/// |x| exceeds 1 divide by the peak, then clip to [-1, 1].
public enum AudioDecoder {
    /// The model's sample rate.
    public static let modelRate = 16_000

    /// Loads a file as mono 16 kHz conditioned samples, within `limits`.
    ///
    /// Only regular files are read: a FIFO would block (and its writer with it), a device such as
    /// /dev/zero never ends, and a directory has no samples; each is a typed error up front.
    public static func load(path: String, limits: AudioDecodeLimits = .none) throws(AudioError) -> AudioSamples {
        try load(pathBytes: Array(path.utf8CString), shown: path, limits: limits)
    }

    /// As `load(path:limits:)`, for a path given as the exact bytes of a NUL-terminated C string:
    /// a Linux file name need not be UTF-8 (Python's `os.fsencode` passes such names), and
    /// `String(cString:)` would repair it into a name that does not exist. Messages show the name
    /// with invalid bytes replaced.
    public static func load(pathBytes: [CChar], limits: AudioDecodeLimits = .none) throws(AudioError) -> AudioSamples {
        guard pathBytes.last == 0 else { throw .invalidParameter("a path must be a NUL-terminated C string") }
        let shown = pathBytes.withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer($0).prefix(while: { $0 != 0 }), as: UTF8.self) }
        return try load(pathBytes: pathBytes, shown: shown, limits: limits)
    }

    private static func load(pathBytes: [CChar], shown path: String, limits: AudioDecodeLimits) throws(AudioError) -> AudioSamples {
        let name = (path as NSString).lastPathComponent
        try checkRegularFile(pathBytes, shown: path)
        let mapped: PageBuffer
        do { mapped = try PageBuffer(mappingFileAt: pathBytes, named: path, owner: .audio) } catch {
            throw AudioError.from(error, path: path)
        }
        defer { mapped.close() }
        guard mapped.byteCount > 0 else { throw .emptyAudio(name: name) }
        let bytes = UnsafeRawBufferPointer(start: mapped.raw, count: mapped.byteCount)
        // ffmpeg may read an MP4 from the file itself, by a name it can be given exactly; a name
        // that is not UTF-8 goes the way of uploads (a private copy) instead.
        let exact = pathBytes.withUnsafeBufferPointer { String(validatingCString: $0.baseAddress!) }
        return try decode(bytes: bytes, name: name, filePath: exact, limits: limits)
    }

    /// Decodes in-memory file bytes (e.g. an upload) to mono 16 kHz conditioned samples, within
    /// `limits`. `name` is the original file name, used in messages only: the format is read from
    /// the bytes, never from the name.
    public static func decode(bytes: UnsafeRawBufferPointer, name: String,
                              limits: AudioDecodeLimits = .none) throws(AudioError) -> AudioSamples {
        try decode(bytes: bytes, name: name, filePath: nil, limits: limits)
    }

    static func decode(bytes: UnsafeRawBufferPointer, name: String, filePath: String?,
                       limits: AudioDecodeLimits) throws(AudioError) -> AudioSamples {
        guard bytes.count > 0 else { throw .emptyAudio(name: name) }
        try limits.checkContinue(name: name)
        let container: AudioContainer
        do { container = try AudioContainer.sniff(bytes, name: name) } catch {
            // A .wav name over binary bytes that are not RIFF: the WAV parser's precise header error.
            let ext = (name as NSString).pathExtension.lowercased()
            if ext == "wav" || ext == "wave", !AudioContainer.looksLikeText(bytes) { _ = try decodeWAV(bytes: bytes, name: name) }
            throw error
        }
        if container == .wav {
            let layout = try WAVHeaderParser.parse(bytes, name: name)
            try limits.checkDuration(Double(layout.frames) / Double(layout.sampleRate), name: name)
            return try prepare(try WAVSampleDecoder.decode(bytes, layout: layout, name: name))
        }
        if let declared = AudioContainer.declaredSeconds(bytes, container: container) {
            try limits.checkDuration(declared, name: name)
        }
        return try prepare(try FFmpegDecoder.decode(bytes: bytes, container: container, name: name,
                                                    filePath: filePath, limits: limits))
    }

    /// Throws unless `path` names a regular file (after following symlinks).
    static func checkRegularFile(_ pathBytes: [CChar], shown path: String) throws(AudioError) {
        var st = stat()
        guard stat(pathBytes, &st) == 0 else {
            let code = errno
            if code == ENOENT { throw .fileNotFound(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(code)))
        }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG else {
            let what: String
            switch kind {
            case S_IFDIR: what = "is a directory"
            case S_IFIFO: what = "is a FIFO (named pipe), not a regular file"
            case S_IFCHR, S_IFBLK: what = "is a device, not a regular file"
            case S_IFSOCK: what = "is a socket, not a regular file"
            default: what = "is not a regular file"
            }
            throw .unreadable(path: path, reason: what)
        }
    }

    /// `Data` convenience for `decode(bytes:name:limits:)`.
    public static func decode(data: Data, name: String, limits: AudioDecodeLimits = .none) throws(AudioError) -> AudioSamples {
        let result: Result<AudioSamples, AudioError> = data.withUnsafeBytes { raw in
            do throws(AudioError) {
                return .success(try decode(bytes: raw, name: name, limits: limits))
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
