import EarshotTensor

/// How a model's large matrices are held once loaded.
public enum WeightPrecision: String, Sendable, Codable, CaseIterable {
    /// bf16/f32 matrices are read in place from the mapped checkpoint (default, zero copies).
    case inPlace
    /// Every matrix is converted to an f32 copy at load (twice the memory of bf16; for debugging).
    case float32
    /// Quantizable matrices (the decoder's linear layers and the tied embedding/head) are
    /// quantized to q8_0 at load; the rest stays in place. Files already quantized are used as is.
    case q8
    /// As `q8`, with q4_1 (4-bit, scale and offset per block of 32).
    case q4

    /// The block format this precision quantizes to, if any.
    public var quantFormat: QuantFormat? {
        switch self {
        case .q8: return .q8_0
        case .q4: return .q4_1
        case .inPlace, .float32: return nil
        }
    }
}

/// The expected tensors of a checkpoint: name -> shape, and whether the tensor is a large matrix
/// (used in place) or a small parameter (norms, biases, conv kernels: converted to f32 at load).
public struct WeightTable: Sendable {
    /// `quantizable` matrices may be stored block-quantized (`WeightPrecision.q8`/`.q4`).
    public enum Kind: Sendable { case matrix, quantizable, small }
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
    public mutating func quantizable(_ name: String, _ shape: [Int]) { entries.append(Entry(name: name, shape: shape, kind: .quantizable)) }
    public mutating func small(_ name: String, _ shape: [Int]) { entries.append(Entry(name: name, shape: shape, kind: .small)) }
    public mutating func allow(_ name: String, _ shape: [Int]) { optional[name] = shape }
}

/// Owns a loaded checkpoint: the file mappings, one anonymous arena of f32 small parameters, and
/// (for `q8`/`q4`) one anonymous buffer of matrices quantized at load.
///
/// Created from a `WeightTable`, it checks the archive strictly (missing, extra or misshaped
/// tensors are errors naming the tensor) and hands out `Matrix` views and f32 pointers.
/// `close()` unmaps everything; the model must not be used afterwards.
public final class WeightStore: @unchecked Sendable {
    // @unchecked: immutable after init; pointers lead into `archive`, `arena` and `quantized`, which are read-only from then on.
    public let archive: SafeTensorsArchive
    public let arena: PageBuffer
    /// Matrices quantized at load (nil when nothing was).
    public let quantized: PageBuffer?
    private let offsets: [String: Int]        // small tensor or converted matrix -> float offset in arena
    private let matrices: [String: Matrix]

    /// `progress(done, total)` is called from the loading thread as matrices are quantized (bytes of source read).
    public init(archive: SafeTensorsArchive, table: WeightTable, precision: WeightPrecision,
                progress: ((Int, Int) -> Void)? = nil) throws(ModelError) {
        self.archive = archive
        var expected = Set<String>()
        var arenaFloats = 0, quantBytes = 0
        var offsets: [String: Int] = [:]
        var quantOffsets: [String: Int] = [:]
        for e in table.entries {
            expected.insert(e.name)
            guard let entry = archive.entry(e.name) else { throw .missingTensor(name: e.name) }
            guard entry.shape == e.shape else { throw .shapeMismatch(tensor: e.name, expected: e.shape, actual: entry.shape) }
            guard entry.dtype.isFloatingPoint else { throw .unsupportedDType(tensor: e.name, dtype: entry.dtype.rawValue) }
            let cols = e.shape.dropFirst().reduce(1, *)
            if e.kind == .quantizable, let format = precision.quantFormat, QuantFormat.canQuantize(cols: cols) {
                quantOffsets[e.name] = quantBytes
                quantBytes += (format.byteCount(rows: e.shape[0], cols: cols) + 63) / 64 * 64
            } else if e.kind == .small || precision == .float32 || entry.dtype == .f16 {
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
        var quantized: PageBuffer?
        if quantBytes > 0 {
            do { quantized = try PageBuffer(byteCount: quantBytes, owner: .weights) } catch {
                arena.close()
                throw .weights(error)
            }
        }
        var matrices: [String: Matrix] = [:]
        let base = arena.floats()
        let totalQuantSource = quantOffsets.keys.reduce(0) { $0 + (archive.entry($1).map { $0.end - $0.begin } ?? 0) }
        var quantSourceDone = 0
        for e in table.entries {
            let t: SafeTensor
            do { t = try archive.tensor(e.name) } catch {
                arena.close()
                quantized?.close()
                throw .weights(error)
            }
            let rows = e.shape[0], cols = e.shape.dropFirst().reduce(1, *)
            if let off = quantOffsets[e.name], let q = quantized, let format = precision.quantFormat {
                let dst = q.raw + off
                do { try Self.quantize(t, rows: rows, cols: cols, format: format, into: dst) } catch {
                    arena.close()
                    q.close()
                    throw .weights(error)
                }
                // The source is never read again: drop its file pages from the resident set.
                t.storage.releaseFilePages(t.data, count: t.byteCount)
                matrices[e.name] = Matrix(storage: .quantized(UnsafeRawPointer(dst), format), rows: rows, cols: cols)
                quantSourceDone += t.byteCount
                progress?(quantSourceDone, totalQuantSource)
            } else if let off = offsets[e.name] {
                Self.convert(t, into: base + off)
                if e.kind != .small {
                    matrices[e.name] = Matrix(storage: .f32(base + off), rows: rows, cols: cols)
                }
            } else {
                let storage: Matrix.Storage = t.dtype == .bf16 ? .bf16(t.bf16) : .f32(t.f32)
                matrices[e.name] = Matrix(storage: storage, rows: rows, cols: cols)
            }
        }
        self.quantized = quantized
        self.offsets = offsets
        self.matrices = matrices
    }

    /// The matrix named `name` (must be a `.matrix` or `.quantizable` entry of the table).
    public func matrix(_ name: String) -> Matrix { matrices[name]! }

    /// f32 values of a `.small` entry.
    public func floats(_ name: String) -> UnsafePointer<Float> { UnsafePointer(arena.floats() + offsets[name]!) }

    /// Bytes this model holds: file mappings, the arena and quantized matrices.
    public var mappedBytes: Int { archive.mappedBytes + arena.mappedBytes + (quantized?.mappedBytes ?? 0) }

    public func close() {
        archive.close()
        arena.close()
        quantized?.close()
    }

    private static func convert(_ t: SafeTensor, into dst: UnsafeMutablePointer<Float>) {
        switch t.dtype {
        case .f32: dst.update(from: t.f32, count: t.elementCount)
        case .bf16: Kernels.bf16ToF32(t.bf16, dst, count: t.elementCount)
        case .f16: Kernels.f16ToF32(t.data.assumingMemoryBound(to: UInt16.self), dst, count: t.elementCount)
        default: break
        }
    }

    /// Quantizes a bf16/f32/f16 `[rows, cols]` tensor row by row on all kernel threads, through a
    /// small f32 row buffer per thread (never an f32 copy of the matrix).
    private static func quantize(_ t: SafeTensor, rows: Int, cols: Int, format: QuantFormat,
                                 into dst: UnsafeMutableRawPointer) throws(TensorError) {
        let parts = max(1, min(Kernels.threadCount, rows))
        let rowBuffers = try PageBuffer(byteCount: parts * cols * 4, owner: .scratch)
        defer { rowBuffers.close() }
        let rowBytes = format.byteCount(rows: 1, cols: cols)
        Kernels.parallelRows(rows, parts: parts) { part, range in
            let row = rowBuffers.floats() + part * cols
            for r in range {
                let src = t.data + r * cols * t.dtype.size
                switch t.dtype {
                case .bf16: Kernels.bf16ToF32(src.assumingMemoryBound(to: UInt16.self), row, count: cols)
                case .f16: Kernels.f16ToF32(src.assumingMemoryBound(to: UInt16.self), row, count: cols)
                default: row.update(from: src.assumingMemoryBound(to: Float.self), count: cols)
                }
                Kernels.quantize(row, rows: 1, cols: cols, format: format, into: dst + r * rowBytes)
            }
        }
    }
}
