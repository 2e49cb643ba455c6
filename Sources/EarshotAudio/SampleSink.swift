#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EarshotTensor

/// Raw f32le bytes read from a pipe into a page buffer that doubles when full.
///
/// The buffer never grows past the duration limit plus one read (so a decode bomb stops at the
/// limit, not at the machine's memory), and grows in place (`PageBuffer.grown`: the kernel moves
/// the pages, so the samples are never held twice).
/// `finish` checks every sample is finite and hands the buffer over as `AudioSamples` (it may be
/// larger than the samples; the slack is never touched, so it costs no memory).
final class SampleSink {
    private(set) var buffer: PageBuffer
    private(set) var byteCount = 0
    /// Bytes that would exceed the limit; nil: unlimited.
    private let limitBytes: Int?
    static let initialBytes = 1 << 20   // 16 s of 16 kHz float32
    static let readBytes = 1 << 16

    init(maxSamples: Int?) throws(AudioError) {
        limitBytes = maxSamples.map { $0 * MemoryLayout<Float>.stride }
        buffer = try Self.allocate(Self.initialBytes)
    }

    var sampleCount: Int { byteCount / MemoryLayout<Float>.stride }
    var exceededLimit: Bool { limitBytes.map { byteCount > $0 } ?? false }

    /// One `read` from `fd` into the free space (growing first when under `readBytes` is left).
    /// Returns what `read` returned; -1 with errno ENOMEM when the buffer could not grow.
    func read(from fd: Int32) -> Int {
        if buffer.byteCount - byteCount < Self.readBytes {
            do { try grow() } catch { errno = ENOMEM; return -1 }
        }
        let n = Glibc_read(fd, buffer.raw + byteCount, min(buffer.byteCount - byteCount, Self.readBytes))
        if n > 0 { byteCount += n }
        return n
    }

    private func grow() throws(AudioError) {
        var next = buffer.byteCount * 2
        // Never more than one read past the limit: that is enough to see it was exceeded.
        if let limitBytes { next = min(next, limitBytes + 2 * Self.readBytes) }
        guard next > buffer.byteCount else { return }
        do { buffer = try buffer.grown(to: next) } catch {
            throw AudioError.from(error, path: "<memory>")
        }
    }

    private static func allocate(_ bytes: Int) throws(AudioError) -> PageBuffer {
        do { return try PageBuffer(byteCount: bytes, owner: .audio) } catch {
            throw AudioError.from(error, path: "<memory>")
        }
    }

    /// The decoded samples at 16 kHz, after checking each is finite (ffmpeg passes float
    /// containers' NaN and Inf through).
    func finish(name: String) throws(AudioError) -> AudioSamples {
        let count = sampleCount
        guard count > 0 else { throw .emptyAudio(name: name) }
        let samples = buffer.floats()
        #if _endian(big)
        for i in 0..<count { samples[i] = Float(bitPattern: UInt32(littleEndian: samples[i].bitPattern)) }
        #endif
        // Read only (f32le is the host's order): no page is written, so none is dirtied twice.
        for i in 0..<count where !samples[i].isFinite {
            let v = samples[i]
            throw .invalidSample(name: name, index: i, value: v.isNaN ? "NaN" : (v > 0 ? "+Inf" : "-Inf"))
        }
        return AudioSamples(storage: buffer, count: count, sampleRate: FFmpegDecoder.outputRate)
    }
}

/// `read(2)` under a name that does not collide with the method above.
@inline(__always)
private func Glibc_read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}
