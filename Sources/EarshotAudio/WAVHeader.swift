/// RIFF / RF64 WAV container parsing: finds the `fmt ` description and the `data` chunk.
///
/// Every size in the header is checked against the actual byte count before use, so a hostile
/// header can never make us read out of bounds or size an allocation: the data extent is always
/// clamped to what the file really holds.

/// How samples are encoded in the data chunk.
enum WAVSampleEncoding: Equatable {
    case unsignedInt8
    case signedInt16
    case signedInt24
    case signedInt32
    case float32
    case float64

    var bytes: Int {
        switch self {
        case .unsignedInt8: return 1
        case .signedInt16: return 2
        case .signedInt24: return 3
        case .signedInt32, .float32: return 4
        case .float64: return 8
        }
    }
}

/// What the header says about the audio, after validation.
struct WAVLayout {
    var encoding: WAVSampleEncoding
    var channels: Int
    var sampleRate: Int
    /// Bytes per sample frame (all channels).
    var blockAlign: Int
    /// Offset of the first sample byte in the file.
    var dataOffset: Int
    /// Sample frames available (declared size clamped to the file, whole frames only).
    var frames: Int
}

/// Little-endian reads with bounds checks against the buffer.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer

    func has(_ offset: Int, _ length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= bytes.count && length <= bytes.count - offset
    }
    func u16(_ o: Int) -> UInt16 { UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
    func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
    func tag(_ o: Int) -> String {
        String(decoding: (0..<4).map { bytes[o + $0] }.map { $0 >= 32 && $0 < 127 ? $0 : UInt8(ascii: "?") },
               as: UTF8.self)
    }
}

/// Names of common WAV format codes we do not decode, for error messages.
func wavFormatName(_ code: Int) -> String {
    switch code {
    case 0x0002: return "Microsoft ADPCM"
    case 0x0006: return "A-law"
    case 0x0007: return "mu-law"
    case 0x0011: return "IMA ADPCM"
    case 0x0031: return "GSM 6.10"
    case 0x0050: return "MPEG"
    case 0x0055: return "MPEG layer 3"
    case 0x00FF: return "AAC"
    case 0xF1AC: return "FLAC"
    default: return "unknown format"
    }
}

enum WAVHeaderParser {
    /// The 14 trailing bytes shared by the KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT GUIDs.
    static let guidSuffix: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00,
                                      0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
    static let maxChannels = 1024
    static let maxSampleRate = 1_536_000

    /// True when the bytes start like a RIFF/RF64 WAVE file (used to route non-WAV input to
    /// ffmpeg). A RIFF magic too short to show its form type counts as WAV, so a truncated WAV
    /// gets a "truncated" error rather than being sent to ffmpeg.
    static func looksLikeWAV(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let r = ByteReader(bytes: bytes)
        guard r.has(0, 4) else { return false }
        let magic = r.tag(0)
        guard magic == "RIFF" || magic == "RF64" || magic == "BW64" else { return false }
        return !r.has(8, 4) || r.tag(8) == "WAVE"
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, name: String) throws(AudioError) -> WAVLayout {
        let r = ByteReader(bytes: bytes)
        guard r.has(0, 12) else {
            throw .truncated(name: name, reason: "\(bytes.count) bytes is shorter than the 12-byte RIFF header")
        }
        let magic = r.tag(0)
        let isRF64 = magic == "RF64" || magic == "BW64"
        guard magic == "RIFF" || isRF64 else {
            throw .corruptHeader(name: name, reason: "expected 'RIFF' or 'RF64' at offset 0, found '\(magic)'")
        }
        guard r.tag(8) == "WAVE" else {
            throw .corruptHeader(name: name, reason: "expected 'WAVE' at offset 8, found '\(r.tag(8))'")
        }

        var format: (encoding: WAVSampleEncoding, channels: Int, rate: Int, align: Int)?
        var ds64DataSize: UInt64?
        var data: (offset: Int, declared: UInt64)?
        var offset = 12
        var first = true
        // Each step advances by at least 8 bytes, so the walk ends.
        while r.has(offset, 8) {
            let id = r.tag(offset)
            let size32 = r.u32(offset + 4)
            let body = offset + 8
            if isRF64 && first && id != "ds64" {
                throw .corruptHeader(name: name, reason: "RF64 file without a 'ds64' chunk (found '\(id)' first)")
            }
            first = false
            if id == "data" {
                var declared = UInt64(size32)
                if size32 == 0xFFFF_FFFF { declared = isRF64 ? (ds64DataSize ?? UInt64.max) : UInt64.max }
                data = (body, declared)
                break   // samples follow; trailing chunks (LIST, ...) are irrelevant
            }
            guard r.has(body, Int(size32)) else {
                throw .truncated(name: name, reason: "chunk '\(id)' at offset \(offset) declares \(size32) bytes "
                                 + "but only \(bytes.count - body) remain")
            }
            if id == "ds64" {
                guard size32 >= 24 else {
                    throw .corruptHeader(name: name, reason: "'ds64' chunk is \(size32) bytes, needs at least 24")
                }
                ds64DataSize = r.u64(body + 8)
            } else if id == "fmt " {
                format = try parseFormat(r, at: body, size: Int(size32), name: name)
            }
            // Chunks are word aligned: odd sizes carry one padding byte.
            offset = body + Int(size32) + Int(size32 & 1)
        }
        guard let format else {
            throw .corruptHeader(name: name, reason: "no 'fmt ' chunk before the sample data")
        }
        guard let data else {
            throw .truncated(name: name, reason: "no 'data' chunk in \(bytes.count) bytes")
        }
        if isRF64 && ds64DataSize == nil {
            throw .corruptHeader(name: name, reason: "RF64 file without a 'ds64' chunk")
        }
        guard data.declared > 0 else { throw .emptyAudio(name: name) }
        let available = UInt64(bytes.count - data.offset)
        let usable = Int(min(data.declared, available))
        let frames = usable / format.align
        guard frames > 0 else {
            throw .truncated(name: name, reason: "data chunk declares \(data.declared) bytes but the file holds "
                             + "\(available), less than one \(format.align)-byte sample frame")
        }
        return WAVLayout(encoding: format.encoding, channels: format.channels, sampleRate: format.rate,
                         blockAlign: format.align, dataOffset: data.offset, frames: frames)
    }

    /// Parses and validates a `fmt ` chunk body (plain, WAVEFORMATEX, or WAVE_FORMAT_EXTENSIBLE).
    static func parseFormat(_ r: ByteReader, at o: Int, size: Int, name: String)
        throws(AudioError) -> (encoding: WAVSampleEncoding, channels: Int, rate: Int, align: Int) {
        guard size >= 16 else {
            throw .corruptHeader(name: name, reason: "'fmt ' chunk is \(size) bytes, needs at least 16")
        }
        var code = Int(r.u16(o))
        let channels = Int(r.u16(o + 2))
        let rate = Int(r.u32(o + 4))
        let align = Int(r.u16(o + 12))
        let bits = Int(r.u16(o + 14))
        if code == 0xFFFE {
            guard size >= 40 else {
                throw .corruptHeader(name: name, reason: "WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is \(size) bytes, needs 40")
            }
            let suffix = (0..<14).map { r.bytes[o + 26 + $0] }
            guard suffix == guidSuffix else {
                throw .unsupportedEncoding(name: name, formatCode: 0xFFFE, reason: "extensible sub-format GUID is not PCM or IEEE float")
            }
            code = Int(r.u16(o + 24))
        }
        guard channels >= 1, channels <= maxChannels else {
            throw .corruptHeader(name: name, reason: "\(channels) channels (expected 1...\(maxChannels))")
        }
        guard rate >= 1, rate <= maxSampleRate else {
            throw .corruptHeader(name: name, reason: "sample rate \(rate) Hz (expected 1...\(maxSampleRate))")
        }
        let encoding: WAVSampleEncoding
        switch (code, bits) {
        case (1, 8): encoding = .unsignedInt8
        case (1, 16): encoding = .signedInt16
        case (1, 24): encoding = .signedInt24
        case (1, 32): encoding = .signedInt32
        case (3, 32): encoding = .float32
        case (3, 64): encoding = .float64
        case (1, _), (3, _):
            throw .unsupportedEncoding(name: name, formatCode: code,
                                       reason: "\(code == 1 ? "PCM" : "IEEE float") with \(bits) bits per sample")
        default:
            throw .unsupportedEncoding(name: name, formatCode: code, reason: wavFormatName(code))
        }
        guard align == channels * encoding.bytes else {
            throw .corruptHeader(name: name, reason: "block align \(align) does not match \(channels) channels "
                                 + "x \(encoding.bytes) bytes")
        }
        return (encoding, channels, rate, align)
    }
}
