/// The audio containers Earshot accepts, recognised from their first bytes — never from a file
/// name, and never by ffmpeg's own probing.
///
/// Why sniff ourselves: left to probe, ffmpeg also recognises playlists (HLS, concat scripts, ...)
/// whose entries name other files, so an upload of a few lines of text could make the server read
/// and transcribe its own files. Each container here maps to exactly one ffmpeg demuxer, which is
/// forced with `-f` and is the only one on ffmpeg's format whitelist; anything unrecognised is
/// refused before a process starts.
public enum AudioContainer: String, Sendable, CaseIterable {
    case wav, flac, mp3, ogg, mp4, aac, matroska, aiff, caf, amr

    /// The ffmpeg demuxer for this container (`-f` and `-format_whitelist`); nil for WAV, which
    /// Earshot decodes itself.
    public var demuxer: String? {
        switch self {
        case .wav: return nil
        case .flac: return "flac"
        case .mp3: return "mp3"
        case .ogg: return "ogg"
        case .mp4: return "mov"       // ffmpeg's "mov,mp4,m4a,3gp,3g2,mj2" demuxer
        case .aac: return "aac"
        case .matroska: return "matroska"   // "matroska,webm"
        case .aiff: return "aiff"
        case .caf: return "caf"
        case .amr: return "amr"
        }
    }

    /// MP4/M4A keep their index (`moov`) after the samples unless written for streaming, and
    /// ffmpeg cannot seek back in a pipe, so these are handed over as a private temporary file.
    public var needsSeekableInput: Bool { self == .mp4 }

    /// What the refusal message lists.
    static let supportedList = "WAV, FLAC, MP3, Ogg (Vorbis/Opus), M4A/MP4, AAC (ADTS), WebM/Matroska, AIFF, CAF or AMR"

    /// Recognises the container from the first bytes of a file, or throws `unsupportedFormat`
    /// naming what the bytes look like (a playlist, text) when it is none of the supported ones.
    public static func sniff(_ bytes: UnsafeRawBufferPointer, name: String) throws(AudioError) -> AudioContainer {
        if let found = recognise(bytes) { return found }
        throw .unsupportedFormat(name: name, reason: describeUnrecognised(bytes))
    }

    /// The container, or nil when the bytes match none.
    static func recognise(_ b: UnsafeRawBufferPointer) -> AudioContainer? {
        if WAVHeaderParser.looksLikeWAV(b) { return .wav }
        if starts(b, "fLaC") { return .flac }
        if starts(b, "OggS") { return .ogg }
        if starts(b, "caff") { return .caf }
        if starts(b, "#!AMR") { return .amr }
        if starts(b, [0x1A, 0x45, 0xDF, 0xA3]) { return .matroska }
        if starts(b, "FORM"), b.count >= 12, matches(b, at: 8, "AIFF") || matches(b, at: 8, "AIFC") { return .aiff }
        if b.count >= 8, ["ftyp", "moov", "wide"].contains(where: { matches(b, at: 4, $0) }) { return .mp4 }
        if starts(b, "ID3") { return afterID3(b) }
        if isMPEGAudioFrame(b, at: 0) { return .mp3 }
        if isADTSFrame(b, at: 0) { return .aac }
        return nil
    }

    /// An ID3v2 tag (10-byte header, 28-bit "syncsafe" size) usually precedes MP3 frames, but
    /// AAC and FLAC streams carry one too: look past it. A tag longer than the bytes at hand is
    /// taken to be MP3's, the common case.
    static func afterID3(_ b: UnsafeRawBufferPointer) -> AudioContainer? {
        guard b.count >= 10 else { return nil }
        let size = (Int(b[6] & 0x7F) << 21) | (Int(b[7] & 0x7F) << 14) | (Int(b[8] & 0x7F) << 7) | Int(b[9] & 0x7F)
        let footer = (b[5] & 0x10) != 0 ? 10 : 0
        let next = 10 + size + footer
        guard next + 4 <= b.count else { return .mp3 }
        let rest = UnsafeRawBufferPointer(rebasing: b[next...])
        if starts(rest, "fLaC") { return .flac }
        if isADTSFrame(rest, at: 0) { return .aac }
        if isMPEGAudioFrame(rest, at: 0) { return .mp3 }
        return nil
    }

    /// An MPEG-1/2/2.5 layer I-III frame header: 11 sync bits, then no reserved version, layer,
    /// bitrate or sample-rate code.
    static func isMPEGAudioFrame(_ b: UnsafeRawBufferPointer, at o: Int) -> Bool {
        guard b.count >= o + 4, b[o] == 0xFF, b[o + 1] & 0xE0 == 0xE0 else { return false }
        let version = (b[o + 1] >> 3) & 3, layer = (b[o + 1] >> 1) & 3
        let bitrate = b[o + 2] >> 4, rate = (b[o + 2] >> 2) & 3
        return version != 1 && layer != 0 && bitrate != 0xF && rate != 3
    }

    /// An ADTS (raw AAC) frame header: 12 sync bits, layer 0, a defined sampling-frequency index.
    static func isADTSFrame(_ b: UnsafeRawBufferPointer, at o: Int) -> Bool {
        guard b.count >= o + 4, b[o] == 0xFF, b[o + 1] & 0xF6 == 0xF0 else { return false }
        return (b[o + 2] >> 2) & 0xF < 13
    }

    /// Why unrecognised bytes were refused, in words a user can act on.
    static func describeUnrecognised(_ b: UnsafeRawBufferPointer) -> String {
        var text = b.prefix(64)[...]
        if text.starts(with: [0xEF, 0xBB, 0xBF]) { text = text.dropFirst(3) }   // UTF-8 byte-order mark
        let head = String(decoding: text.prefix(16), as: UTF8.self).trimmingLeadingWhitespace().uppercased()
        if head.hasPrefix("#EXTM3U") || head.hasPrefix("[PLAYLIST]") || head.hasPrefix("FFCONCAT") {
            return "a playlist is not audio (playlists are refused: they name other files); use the audio file itself"
        }
        if looksLikeText(b) { return "the file is text, not audio; expected \(supportedList)" }
        return "the first bytes match none of \(supportedList)"
    }

    /// Whether the first bytes are printable ASCII or UTF-8 text (a playlist, a script, a page).
    static func looksLikeText(_ b: UnsafeRawBufferPointer) -> Bool {
        var text = b.prefix(64)[...]
        if text.starts(with: [0xEF, 0xBB, 0xBF]) { text = text.dropFirst(3) }
        return !text.isEmpty && text.allSatisfy { $0 == 9 || $0 == 10 || $0 == 13 || (32..<127).contains($0) || $0 >= 0x80 }
    }

    private static func starts(_ b: UnsafeRawBufferPointer, _ magic: String) -> Bool { matches(b, at: 0, magic) }
    private static func starts(_ b: UnsafeRawBufferPointer, _ magic: [UInt8]) -> Bool {
        b.count >= magic.count && zip(b, magic).allSatisfy { $0 == $1 }
    }
    private static func matches(_ b: UnsafeRawBufferPointer, at offset: Int, _ magic: String) -> Bool {
        let m = Array(magic.utf8)
        guard b.count >= offset + m.count else { return false }
        return (0..<m.count).allSatisfy { b[offset + $0] == m[$0] }
    }
}

private extension String {
    func trimmingLeadingWhitespace() -> Substring { drop(while: { $0.isWhitespace }) }
}
