import CEarshotZlib

/// Whisper's `compression_ratio`: UTF-8 bytes of a text divided by the bytes of Python's
/// `zlib.compress(text)` (zlib, default level). Above 2.4 flags repetitive (looping) output and
/// sends a window to the next fallback temperature, so it is computed by zlib itself: a ratio a
/// byte off near the threshold would decode the window differently from faster-whisper.
public enum CompressionRatio {
    public static func of(_ text: String) -> Double {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return 0 }
        return Double(bytes.count) / Double(zlibBytes(bytes))
    }

    /// `len(zlib.compress(bytes))`: the zlib stream (header, DEFLATE at level 6, Adler-32).
    public static func zlibBytes(_ bytes: [UInt8]) -> Int {
        var size = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = bytes.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                compress2(output.baseAddress, &size, input.baseAddress, uLong(input.count), Z_DEFAULT_COMPRESSION)
            }
        }
        // compressBound guarantees room; Z_MEM_ERROR is the only other outcome. Then a stored
        // block's size (what zlib would have written) keeps the ratio meaningful.
        guard status == Z_OK else { return bytes.count + 11 }
        return Int(size)
    }
}
