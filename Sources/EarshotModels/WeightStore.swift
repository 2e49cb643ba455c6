import EarshotTensor

/// How a model's large matrices are held once loaded.
public enum WeightPrecision: String, Sendable, Codable, CaseIterable {
    /// bf16/f32 matrices are read in place from the mapped checkpoint (default, zero copies).
    case inPlace
    /// Every matrix is converted to an f32 copy at load (twice the memory of bf16; for debugging).
    case float32
}

/// The expected tensors of a checkpoint: name -> shape, and whether the tensor is a large matrix
/// (used in place) or a small parameter (norms, biases, conv kernels: converted to f32 at load).
public struct WeightTable: Sendable {
    public enum Kind: Sendable { case matrix, small }
    public struct Entry: Sendable {
        public let name: String
        public let shape: [Int]
        public let kind: Kind
    }
    public private(set) var entries: [Entry] = []
    /// Tensors that may be present (with the given shape) and are then ignored.
    public private(set) var optional: [String: [Int]] = [:]

    public init() {}

    public mutating func matrix(_ name: String, _ shape: [Int]) { entries.append(Entry(name: name, shape: shape, kind: .matrix)) }
    public mutating func small(_ name: String, _ shape: [Int]) { entries.append(Entry(name: name, shape: shape, kind: .small)) }
    public mutating func allow(_ name: String, _ shape: [Int]) { optional[name] = shape }
}

/// Owns a loaded checkpoint: the file mappings plus one anonymous arena of f32 small parameters.
///
/// Created from a `WeightTable`, it checks the archive strictly (missing, extra or misshaped
/// tensors are errors naming the tensor) and hands out `Matrix` views and f32 pointers.
/// `close()` unmaps everything; the model must not be used afterwards.
public final class WeightStore: @unchecked Sendable {
    // @unchecked: immutable after init; pointers lead into `archive` and `arena`, which are read-only from then on.
    public let archive: SafeTensorsArchive
    public let arena: PageBuffer
    private let offsets: [String: Int]        // small tensor or converted matrix -> float offset in arena
    private let matrices: [String: Matrix]

    public init(archive: SafeTensorsArchive, table: WeightTable, precision: WeightPrecision) throws(ModelError) {
        self.archive = archive
        var expected = Set<String>()
        var arenaFloats = 0
        var offsets: [String: Int] = [:]
        for e in table.entries {
            expected.insert(e.name)
            guard let entry = archive.entry(e.name) else { throw .missingTensor(name: e.name) }
            guard entry.shape == e.shape else { throw .shapeMismatch(tensor: e.name, expected: e.shape, actual: entry.shape) }
            guard entry.dtype.isFloatingPoint else { throw .unsupportedDType(tensor: e.name, dtype: entry.dtype.rawValue) }
            let inArena = e.kind == .small || precision == .float32 || entry.dtype == .f16
            if inArena {
                offsets[e.name] = arenaFloats
                // Keep every tensor 64-byte aligned inside the arena.
                arenaFloats += (elementCount(e.shape)! + 15) / 16 * 16
            }
        }
        for name in archive.names where !expected.contains(name) {
            guard let shape = table.optional[name] else { throw .unexpectedTensor(name: name) }
            let actual = archive.entry(name)!.shape
            guard actual == shape else { throw .shapeMismatch(tensor: name, expected: shape, actual: actual) }
        }
        do {
            arena = try PageBuffer(byteCount: max(arenaFloats, 1) * 4, owner: .weights)
        } catch {
            throw .weights(error)
        }
        var matrices: [String: Matrix] = [:]
        let base = arena.floats()
        for e in table.entries {
            let t: SafeTensor
            do { t = try archive.tensor(e.name) } catch { throw .weights(error) }
            if let off = offsets[e.name] {
                Self.convert(t, into: base + off)
                if e.kind == .matrix {
                    matrices[e.name] = Matrix(storage: .f32(base + off), rows: e.shape[0], cols: e.shape.dropFirst().reduce(1, *))
                }
            } else {
                let storage: Matrix.Storage = t.dtype == .bf16 ? .bf16(t.bf16) : .f32(t.f32)
                matrices[e.name] = Matrix(storage: storage, rows: e.shape[0], cols: e.shape.dropFirst().reduce(1, *))
            }
        }
        self.offsets = offsets
        self.matrices = matrices
    }

    /// The matrix named `name` (must be a `.matrix` entry of the table).
    public func matrix(_ name: String) -> Matrix { matrices[name]! }

    /// f32 values of a `.small` entry.
    public func floats(_ name: String) -> UnsafePointer<Float> { UnsafePointer(arena.floats() + offsets[name]!) }

    /// Bytes this model holds: file mappings plus the arena.
    public var mappedBytes: Int { archive.mappedBytes + arena.mappedBytes }

    public func close() {
        archive.close()
        arena.close()
    }

    private static func convert(_ t: SafeTensor, into dst: UnsafeMutablePointer<Float>) {
        switch t.dtype {
        case .f32: dst.update(from: t.f32, count: t.elementCount)
        case .bf16: Kernels.bf16ToF32(t.bf16, dst, count: t.elementCount)
        case .f16: Kernels.f16ToF32(t.data.assumingMemoryBound(to: UInt16.self), dst, count: t.elementCount)
        default: break
        }
    }
}
