import Foundation

/// Writes `.safetensors` files: for tests, conversion and random checkpoints.
///
/// Tensors are streamed one at a time: each is filled into a page-aligned scratch `PageBuffer` by
/// a caller-supplied closure and written out, so a multi-gigabyte checkpoint never sits in memory.
public enum SafeTensorsWriter {
    public struct Entry: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public init(name: String, dtype: DType, shape: [Int]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
        }
        public var byteCount: Int { (elementCount(shape) ?? 0) * dtype.size }
    }

    /// Writes `entries` in order; `fill` receives each entry and its zeroed destination bytes.
    public static func write(
        path: String, entries: [Entry], metadata: [String: String] = [:],
        fill: (Entry, UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for e in entries {
            guard elementCount(e.shape) != nil else {
                throw TensorError.writeFailed(path: path, reason: "tensor '\(e.name)' has an invalid shape \(e.shape)")
            }
            header[e.name] = ["dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [offset, offset + e.byteCount]]
            offset += e.byteCount
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }

        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw TensorError.writeFailed(path: path, reason: "cannot create file")
        }
        defer { try? handle.close() }
        var n = UInt64(json.count).littleEndian
        try handle.write(contentsOf: Data(bytes: &n, count: 8))
        try handle.write(contentsOf: json)
        let largest = entries.map(\.byteCount).max() ?? 0
        guard largest > 0 else { return }
        let scratch = try PageBuffer(byteCount: largest, owner: .scratch)
        defer { scratch.close() }
        for e in entries where e.byteCount > 0 {
            let dst = UnsafeMutableRawBufferPointer(start: scratch.raw, count: e.byteCount)
            dst.initializeMemory(as: UInt8.self, repeating: 0)
            try fill(e, dst)
            try handle.write(contentsOf: Data(bytesNoCopy: scratch.raw, count: e.byteCount, deallocator: .none))
        }
    }

    /// Convenience for small tensors held as Float arrays, stored as `dtype` (F32, BF16 or F16).
    public static func write(path: String, floats: [(name: String, shape: [Int], values: [Float])],
                             dtype: DType = .f32, metadata: [String: String] = [:]) throws {
        let entries = floats.map { Entry(name: $0.name, dtype: dtype, shape: $0.shape) }
        let values = Dictionary(uniqueKeysWithValues: floats.map { ($0.name, $0.values) })
        try write(path: path, entries: entries, metadata: metadata) { e, dst in
            let v = values[e.name]!
            for i in 0..<min(v.count, e.byteCount / dtype.size) {
                switch dtype {
                case .bf16: dst.storeBytes(of: bf16Bits(v[i]), toByteOffset: 2 * i, as: UInt16.self)
                case .f16: dst.storeBytes(of: Float16(v[i]).bitPattern, toByteOffset: 2 * i, as: UInt16.self)
                default: dst.storeBytes(of: v[i], toByteOffset: 4 * i, as: Float.self)
                }
            }
        }
    }
}

/// Float -> bf16 with round-to-nearest-even (NaN kept quiet).
@inline(__always)
public func bf16Bits(_ x: Float) -> UInt16 {
    let b = x.bitPattern
    if x.isNaN { return UInt16(b >> 16) | 0x40 }
    let rounding = 0x7FFF + ((b >> 16) & 1)
    return UInt16((b &+ rounding) >> 16)
}
