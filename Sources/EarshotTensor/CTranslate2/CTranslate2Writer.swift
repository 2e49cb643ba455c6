import Foundation

/// Writes CTranslate2 `model.bin` files (binary version 6), for tests and small fixtures.
///
/// The whole file is assembled in memory and written atomically (a temporary file renamed into
/// place), so it suits the small Whisper-shaped models tests build, not real checkpoints.
/// Variables are written sorted by name, as the Python converter does.
public enum CTranslate2Writer {
    public struct Entry: Sendable, Equatable {
        public let name: String
        /// Row-major shape; `[]` for a scalar.
        public let shape: [Int]
        public let dtype: CTranslate2DType
        /// Little-endian element data.
        public let bytes: [UInt8]
        /// Set by a convenience initializer that could not encode its input; `write` reports it.
        let problem: String?

        public init(name: String, shape: [Int], dtype: CTranslate2DType, bytes: [UInt8]) {
            self.name = name
            self.shape = shape
            self.dtype = dtype
            self.bytes = bytes
            problem = nil
        }

        /// Floats encoded as `dtype`: float32, float16 or bfloat16 (round to nearest even).
        public init(name: String, shape: [Int], floats: [Float], as dtype: CTranslate2DType = .float32) {
            self.name = name
            self.shape = shape
            self.dtype = dtype
            var out = [UInt8](repeating: 0, count: floats.count * dtype.size)
            var problem: String?
            floats.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBytes { dst in
                    guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                    switch dtype {
                    case .float32:
                        for i in 0..<src.count { dst.storeBytes(of: src[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
                    case .float16:
                        Kernels.f32ToF16(s, d.assumingMemoryBound(to: UInt16.self), count: src.count)
                    case .bfloat16:
                        Kernels.f32ToBF16(s, d.assumingMemoryBound(to: UInt16.self), count: src.count)
                    case .int8, .int16, .int32:
                        problem = "floats cannot be stored as \(dtype)"
                    }
                }
            }
            bytes = out
            self.problem = problem
        }

        /// A scalar integer (rank 0) stored as int8, int16 or int32, such as `encoder/num_heads`.
        public init(name: String, scalar value: Int, as dtype: CTranslate2DType) {
            self.name = name
            shape = []
            self.dtype = dtype
            switch dtype {
            case .int8 where Int8(exactly: value) != nil:
                bytes = [UInt8(truncatingIfNeeded: value)]
                problem = nil
            case .int16 where Int16(exactly: value) != nil:
                bytes = withUnsafeBytes(of: Int16(value).littleEndian) { Array($0) }
                problem = nil
            case .int32 where Int32(exactly: value) != nil:
                bytes = withUnsafeBytes(of: Int32(value).littleEndian) { Array($0) }
                problem = nil
            default:
                bytes = []
                problem = "\(value) cannot be stored as \(dtype)"
            }
        }
    }

    /// Writes `entries` (sorted by name) and then `aliases` (alias, target), in the order given.
    public static func write(to path: String, specName: String = "WhisperSpec", specRevision: Int = 3,
                             entries: [Entry], aliases: [(String, String)] = []) throws(CTranslate2Error) {
        var out: [UInt8] = []
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out += $0 } }
        func string(_ s: String) { out += withUnsafeBytes(of: UInt16(s.utf8.count + 1).littleEndian) { Array($0) } + Array(s.utf8) + [0] }

        try checkString(specName, path: path)
        guard UInt32(exactly: specRevision) != nil else {
            throw .invalidEntry(path: path, name: specName, reason: "spec revision \(specRevision) does not fit in 32 bits")
        }
        u32(6)
        string(specName)
        u32(specRevision)

        let sorted = entries.sorted { utf8Order($0.name, $1.name) }
        var names = Set<String>()
        for e in sorted {
            try check(e, path: path)
            guard names.insert(e.name).inserted else { throw .invalidEntry(path: path, name: e.name, reason: "appears more than once") }
        }
        u32(sorted.count)
        for e in sorted {
            string(e.name)
            out.append(UInt8(e.shape.count))
            for d in e.shape { u32(d) }
            out.append(e.dtype.rawValue)
            u32(e.bytes.count)
            out += e.bytes
        }

        var seen = Set<String>()
        for (alias, target) in aliases {
            try checkString(alias, path: path)
            guard !names.contains(alias) else { throw .invalidEntry(path: path, name: alias, reason: "alias has a variable's name") }
            guard seen.insert(alias).inserted else { throw .invalidEntry(path: path, name: alias, reason: "alias appears more than once") }
            guard names.contains(target) else { throw .invalidEntry(path: path, name: alias, reason: "alias target '\(target)' is not a variable") }
        }
        u32(aliases.count)
        for (alias, target) in aliases {
            string(alias)
            string(target)
        }

        do {
            try Data(out).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .writeFailed(path: path, reason: String(describing: error))
        }
    }

    /// Names must fit the u16 length (which counts the NUL) and hold no NUL of their own.
    private static func checkString(_ s: String, path: String) throws(CTranslate2Error) {
        guard s.utf8.count < Int(UInt16.max) else { throw .invalidEntry(path: path, name: s, reason: "longer than 65534 bytes") }
        guard !s.utf8.contains(0) else { throw .invalidEntry(path: path, name: s, reason: "contains a NUL byte") }
    }

    private static func check(_ e: Entry, path: String) throws(CTranslate2Error) {
        func bad(_ reason: String) -> CTranslate2Error { .invalidEntry(path: path, name: e.name, reason: reason) }
        try checkString(e.name, path: path)
        if let problem = e.problem { throw bad(problem) }
        guard e.shape.count <= CTranslate2File.maxRank else { throw bad("rank \(e.shape.count) is above \(CTranslate2File.maxRank)") }
        var elements = 1
        for d in e.shape {
            guard UInt32(exactly: d) != nil else { throw bad("dimension \(d) does not fit in 32 bits") }
            guard case (let n, false) = elements.multipliedReportingOverflow(by: d) else { throw bad("shape \(e.shape) overflows") }
            elements = n
        }
        guard case (let expected, false) = elements.multipliedReportingOverflow(by: e.dtype.size), expected == e.bytes.count else {
            throw bad("shape \(e.shape) of \(e.dtype) needs \(elements) × \(e.dtype.size) bytes, got \(e.bytes.count)")
        }
        guard UInt32(exactly: e.bytes.count) != nil else { throw bad("\(e.bytes.count) bytes do not fit in a u32 byte count") }
    }
}
