import EarshotTensor

/// Converts the sample data of a parsed WAV file to mono float32 at the file's own rate.
///
/// Scaling follows the common convention (and soundfile / the official package): signed PCM is
/// divided by 2^(bits-1) (int16: x/32768, int24: x/8388608, int32: x/2147483648), unsigned 8-bit
/// is (x-128)/128, float is taken as is. Channels are averaged (`mean` over channels, like the
/// official `to_mono`). Float samples must be finite: NaN/Inf is an error naming the sample.
enum WAVSampleDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, layout: WAVLayout, name: String)
        throws(AudioError) -> AudioSamples {
        let frames = layout.frames
        let out = try makeFloatBuffer(count: frames)
        let dst = out.floats()
        let base = bytes.baseAddress! + layout.dataOffset  // parse() guaranteed at least one frame
        let channels = layout.channels
        let step = layout.blockAlign
        let inverseChannels = 1 / Float(channels)

        switch layout.encoding {
        case .unsignedInt8:
            mix(frames, channels, step, 1, base, dst, inverseChannels) { p in
                (Float(p.load(as: UInt8.self)) - 128) / 128
            }
        case .signedInt16:
            mix(frames, channels, step, 2, base, dst, inverseChannels) { p in
                Float(Int16(littleEndian: p.loadUnaligned(as: Int16.self))) / 32768
            }
        case .signedInt24:
            mix(frames, channels, step, 3, base, dst, inverseChannels) { p in
                // Assemble the 3 little-endian bytes in the top of an Int32, then shift down
                // arithmetically to sign-extend.
                let u = UInt32(p.load(fromByteOffset: 0, as: UInt8.self)) << 8
                    | UInt32(p.load(fromByteOffset: 1, as: UInt8.self)) << 16
                    | UInt32(p.load(fromByteOffset: 2, as: UInt8.self)) << 24
                return Float(Int32(bitPattern: u) >> 8) / 8_388_608
            }
        case .signedInt32:
            mix(frames, channels, step, 4, base, dst, inverseChannels) { p in
                Float(Int32(littleEndian: p.loadUnaligned(as: Int32.self))) / 2_147_483_648
            }
        case .float32:
            try checkFinite(frames * channels, name: name) { i in
                Double(Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))))
            }
            mix(frames, channels, step, 4, base, dst, inverseChannels) { p in
                Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
            }
        case .float64:
            try checkFinite(frames * channels, name: name) { i in
                // Checked after narrowing: a finite double beyond Float's range would become Inf.
                Double(Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))))
            }
            mix(frames, channels, step, 8, base, dst, inverseChannels) { p in
                Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))))
            }
        }
        return AudioSamples(storage: out, count: frames, sampleRate: layout.sampleRate)
    }

    /// Averages `channels` converted samples per frame into `dst`. Mono is a straight conversion
    /// (no division), so int16 mono input is reproduced bit-exactly as x/32768.
    @inline(__always)
    private static func mix(_ frames: Int, _ channels: Int, _ step: Int, _ width: Int,
                            _ base: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>,
                            _ inverseChannels: Float, _ convert: (UnsafeRawPointer) -> Float) {
        if channels == 1 {
            for f in 0..<frames { dst[f] = convert(base + f * step) }
            return
        }
        for f in 0..<frames {
            var p = base + f * step
            var sum: Float = 0
            for _ in 0..<channels {
                sum += convert(p) * inverseChannels   // scale first: no overflow near Float.max
                p += width
            }
            dst[f] = sum
        }
    }

    /// Throws `invalidSample` for the first NaN or infinite value among `count` samples.
    private static func checkFinite(_ count: Int, name: String, _ value: (Int) -> Double) throws(AudioError) {
        for i in 0..<count {
            let v = value(i)
            if !v.isFinite {
                throw .invalidSample(name: name, index: i, value: v.isNaN ? "NaN" : (v > 0 ? "+Inf" : "-Inf"))
            }
        }
    }
}
