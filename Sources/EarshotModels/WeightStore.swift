import EarshotTensor

/// How a model's large matrices are held once loaded: the one precision type of every entry point
/// (CLI `--precision`, server `precision`, C ABI and Python `precision`), with the same names.
public enum WeightPrecision: String, Sendable, Codable, CaseIterable {
    /// bf16/f32 matrices are read in place from the mapped checkpoint (default, zero copies).
    case inPlace = "native"
    /// Every matrix is converted to an f32 copy at load (twice the memory of bf16; for debugging).
    case float32 = "f32"
    /// Quantizable matrices (the decoder's linear layers and the tied embedding/head) are
    /// quantized to q8_0 at load; the rest stays in place. Files already quantized are used as is.
    case q8
    /// As `q8`, with q4_1 (4-bit, scale and offset per block of 32).
    case q4

    /// Parses a precision name, case-insensitively: `native` (as stored, read in place), `f32`,
    /// `q8`, `q4`, and the aliases older flags and files used (`bf16`, `inPlace`, `none` for
    /// native; `float32` for f32).
    public init?(name: String) {
        switch name.lowercased() {
        case "native", "bf16", "inplace", "none": self = .inPlace
        case "f32", "float32": self = .float32
        case "q8": self = .q8
        case "q4": self = .q4
        default: return nil
        }
    }

    /// The accepted names, for help texts and error messages.
    public static let names = "native (as stored, read in place; alias bf16), f32, q8 or q4"

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
    /// `convertible` matrices (the audio encoder's linear layers) stay as stored at load for any
    /// precision, but may come block-quantized from a file converted with `quantizeEncoder`.
    public enum Kind: Sendable { case matrix, quantizable, convertible, small }
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
    public mutating func convertible(_ name: String, _ shape: [Int]) { entries.append(Entry(name: name, shape: shape, kind: .convertible)) }
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
    // @unchecked: immutable after init; pointers lead into `file`, `arena` and `quantized`, which are read-only from then on.
    public let file: any WeightFile
    public let arena: PageBuffer
    /// Matrices quantized at load (nil when nothing was).
    public let quantized: PageBuffer?
    private let offsets: [String: Int]        // small tensor or converted matrix -> float offset in arena
    private let matrices: [String: Matrix]

    /// How one table entry is bound.
    private enum Binding {
        case inPlace                     // float matrix or already-quantized matrix, read from the mapping
        case arena(Int)                  // f32 copy at this float offset
        case quantize(Int, QuantFormat)  // quantized at load into `quantized` at this byte offset
    }

    /// `progress(done, total)` is called from the loading thread as matrices are quantized (bytes of source read).
    public init(file: any WeightFile, table: WeightTable, precision: WeightPrecision,
                progress: ((Int, Int) -> Void)? = nil) throws(ModelError) {
        self.file = file
        var expected = Set<String>()
        var arenaFloats = 0, quantBytes = 0
        var bindings: [String: Binding] = [:]
        for e in table.entries {
            expected.insert(e.name)
            guard let (shape, type) = file.describe(e.name) else { throw .missingTensor(name: e.name) }
            guard shape == e.shape else { throw .shapeMismatch(tensor: e.name, expected: e.shape, actual: shape) }
            let cols = e.shape.dropFirst().reduce(1, *)
            switch type {
            case .quantized(let format):
                // Already quantized (a converted GGUF file): only quantizable matrices may be, and used as stored.
                guard e.kind == .quantizable || e.kind == .convertible, QuantFormat.canQuantize(cols: cols) else {
                    throw .unsupportedDType(tensor: e.name, dtype: format.rawValue)
                }
                bindings[e.name] = .inPlace
            case .float(let dtype) where dtype.isFloatingPoint:
                if e.kind == .quantizable, let format = precision.quantFormat, QuantFormat.canQuantize(cols: cols) {
                    bindings[e.name] = .quantize(quantBytes, format)
                    quantBytes += (format.byteCount(rows: e.shape[0], cols: cols) + 63) / 64 * 64
                } else if e.kind == .small || precision == .float32 || dtype == .f16 || !file.alignsTensorData {
                    bindings[e.name] = .arena(arenaFloats)
                    // Keep every tensor 64-byte aligned inside the arena.
                    arenaFloats += (elementCount(e.shape)! + 15) / 16 * 16
                } else {
                    bindings[e.name] = .inPlace
                }
            case .scaledInt8:
                // Row-scaled int8 (CTranslate2): requantized for q8/q4, else dequantized to f32.
                if e.kind == .quantizable, let format = precision.quantFormat, QuantFormat.canQuantize(cols: cols) {
                    bindings[e.name] = .quantize(quantBytes, format)
                    quantBytes += (format.byteCount(rows: e.shape[0], cols: cols) + 63) / 64 * 64
                } else {
                    bindings[e.name] = .arena(arenaFloats)
                    arenaFloats += (elementCount(e.shape)! + 15) / 16 * 16
                }
            default:
                throw .unsupportedDType(tensor: e.name, dtype: type.description)
            }
        }
        for name in file.tensorNames where !expected.contains(name) {
            guard let shape = table.optional[name] else { throw .unexpectedTensor(name: name) }
            let actual = file.describe(name)!.shape
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
        var offsets: [String: Int] = [:]
        let base = arena.floats()
        var quantSourceTotal = 0, quantSourceDone = 0
        for binding in bindings.values { if case .quantize = binding { quantSourceTotal += 1 } }
        do throws(ModelError) {
            for e in table.entries {
                let t = try file.stored(e.name)
                let rows = e.shape[0], cols = e.shape.dropFirst().reduce(1, *)
                switch bindings[e.name]! {
                case .quantize(let off, let format):
                    let dst = quantized!.raw + off
                    do { try Self.quantize(t, rows: rows, cols: cols, format: format, into: dst) } catch { throw .weights(error) }
                    // The source is never read again: drop its file pages from the resident set.
                    t.storage.releaseFilePages(t.data, count: t.byteCount)
                    matrices[e.name] = Matrix(storage: .quantized(UnsafeRawPointer(dst), format), rows: rows, cols: cols)
                    quantSourceDone += 1
                    progress?(quantSourceDone, quantSourceTotal)
                case .arena(let off):
                    Self.convert(t, into: base + off)
                    offsets[e.name] = off
                    if e.kind != .small { matrices[e.name] = Matrix(storage: .f32(base + off), rows: rows, cols: cols) }
                case .inPlace:
                    let storage: Matrix.Storage
                    switch t.type {
                    case .quantized(let format):
                        guard t.byteCount == format.byteCount(rows: rows, cols: cols) else {
                            throw .unsupportedDType(tensor: e.name, dtype: "\(format) of \(t.byteCount) bytes")
                        }
                        storage = .quantized(t.data, format)
                    case .float(.bf16): storage = .bf16(t.data.assumingMemoryBound(to: UInt16.self))
                    default: storage = .f32(t.data.assumingMemoryBound(to: Float.self))
                    }
                    matrices[e.name] = Matrix(storage: storage, rows: rows, cols: cols)
                }
            }
        } catch {
            arena.close()
            quantized?.close()
            throw error
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
    public var mappedBytes: Int { file.mappedBytes + arena.mappedBytes + (quantized?.mappedBytes ?? 0) }

    /// Whether a weight file was truncated or rewritten in place since load (see
    /// `PageBuffer.fileChange()`): reading it now could raise SIGBUS, so callers refuse to use
    /// the model when this is non-nil.
    public func fileChange() -> String? {
        let buffers: [PageBuffer]
        switch file {
        case let f as SafeTensorsArchive: buffers = f.files.map(\.storage)
        case let f as GGUFFile: buffers = [f.storage]
        case let f as CTranslate2File: buffers = [f.storage]
        default: buffers = []
        }
        return buffers.lazy.compactMap { $0.fileChange() }.first
    }

    public func close() {
        file.close()
        arena.close()
        quantized?.close()
    }

    private static func convert(_ t: StoredTensor, into dst: UnsafeMutablePointer<Float>) {
        let count = elementCount(t.shape) ?? 0
        switch t.type {
        case .float(.f32): dst.update(from: t.data.assumingMemoryBound(to: Float.self), count: count)
        case .float(.bf16), .float(.f16): halfRow(t, from: 0, count: count, into: dst)
        case .scaledInt8:
            let rows = t.shape.first ?? 1, cols = count / max(rows, 1)
            for r in 0..<rows { dequantizeScaledRow(t, r, cols: cols, into: dst + r * cols) }
        default: break
        }
    }

    /// Elements `from..<from+count` of a bf16/f16 tensor as f32. CTranslate2 files pack tensors at
    /// odd byte offsets, so misaligned data goes through unaligned loads.
    private static func halfRow(_ t: StoredTensor, from: Int, count: Int, into dst: UnsafeMutablePointer<Float>) {
        let src = t.data + 2 * from
        if case .float(.f16) = t.type {
            Kernels.f16ToF32(unaligned: src, dst, count: count)
        } else if Int(bitPattern: src) % 2 == 0 {
            Kernels.bf16ToF32(src.assumingMemoryBound(to: UInt16.self), dst, count: count)
        } else {
            for i in 0..<count {
                dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            }
        }
    }

    /// Row `r` of a row-scaled int8 tensor as f32: q / scale[r] (CTranslate2's convention).
    private static func dequantizeScaledRow(_ t: StoredTensor, _ r: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
        let q = t.data.assumingMemoryBound(to: Int8.self) + r * cols
        let scale = t.scales?.loadUnaligned(fromByteOffset: r * 4, as: Float.self) ?? 1
        let inv: Float = scale != 0 ? 1 / scale : 0
        for c in 0..<cols { dst[c] = Float(q[c]) * inv }
    }

    /// Quantizes a bf16/f32/f16 `[rows, cols]` tensor row by row on all kernel threads, through a
    /// small f32 row buffer per thread (never an f32 copy of the matrix). Rows go in chunks of
    /// ~32 MB of source whose file pages are dropped once quantized, so a 622 MB bf16 embedding
    /// never sits whole in the resident set beside its blocks.
    private static func quantize(_ t: StoredTensor, rows: Int, cols: Int, format: QuantFormat,
                                 into dst: UnsafeMutableRawPointer) throws(TensorError) {
        let parts = max(1, min(Kernels.threadCount, rows))
        let rowBuffers = try PageBuffer(byteCount: parts * cols * 4, owner: .scratch)
        defer { rowBuffers.close() }
        let sourceRowBytes = t.byteCount / max(rows, 1)
        let chunkRows = max(1, (32 << 20) / max(sourceRowBytes, 1))
        var start = 0
        while start < rows {
            let end = min(rows, start + chunkRows)
            quantizeRows(t, start..<end, cols: cols, format: format, into: dst, rowBuffers: rowBuffers.floats(), parts: parts)
            t.storage.releaseFilePages(t.data + start * sourceRowBytes, count: (end - start) * sourceRowBytes)
            start = end
        }
    }

    private static func quantizeRows(_ t: StoredTensor, _ rows: Range<Int>, cols: Int, format: QuantFormat,
                                     into dst: UnsafeMutableRawPointer, rowBuffers: UnsafeMutablePointer<Float>, parts: Int) {
        let rowBytes = format.byteCount(rows: 1, cols: cols)
        let first = rows.lowerBound
        Kernels.parallelRows(rows.count, parts: parts) { part, range in
            let row = rowBuffers + part * cols
            for i in range {
                let r = first + i
                switch t.type {
                case .float(.bf16), .float(.f16): halfRow(t, from: r * cols, count: cols, into: row)
                case .scaledInt8: dequantizeScaledRow(t, r, cols: cols, into: row)
                default: row.update(from: t.data.assumingMemoryBound(to: Float.self) + r * cols, count: cols)
                }
                Kernels.quantize(row, rows: 1, cols: cols, format: format, into: dst + r * rowBytes)
            }
        }
    }
}
