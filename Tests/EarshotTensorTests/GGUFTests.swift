import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotTensor

/// GGUF reader and writer. Serialized because several tests compare process-wide counters
/// (mapped bytes, open descriptors) before and after.
@Suite(.serialized) struct GGUFTests {
    let dir: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID())")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    static func descriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    /// Metadata covering every value type, nested and empty arrays included.
    static let metadata: [(key: String, value: GGUFValue)] = [
        ("general.architecture", .string("qwen3-asr")),
        ("general.name", .string("Earshot test ✓ — ünïcödé")),
        ("t.u8", .uint8(200)), ("t.i8", .int8(-100)), ("t.u16", .uint16(60000)), ("t.i16", .int16(-30000)),
        ("t.u32", .uint32(4_000_000_000)), ("t.i32", .int32(-2_000_000_000)),
        ("t.u64", .uint64(.max)), ("t.i64", .int64(.min)),
        ("t.f32", .float32(-1.5e-7)), ("t.f64", .float64(3.141592653589793)),
        ("t.true", .bool(true)), ("t.false", .bool(false)), ("t.empty", .string("")),
        ("tokenizer.ggml.tokens", .strings(["<|im_start|>", "hello", "", "ĠWorld", "日本"])),
        ("t.ints", .array(.int32, [.int32(1), .int32(-2), .int32(3)])),
        ("t.floats", .array(.float32, [.float32(0.5), .float32(-0.25)])),
        ("t.bools", .array(.bool, [.bool(true), .bool(false)])),
        ("t.empty_array", .array(.uint64, [])),
        ("t.nested", .array(.array, [.strings(["a", "b"]), .strings([]), .strings(["c"])])),
        ("t.deep", .array(.array, [.array(.array, [.array(.uint8, [.uint8(1), .uint8(2)])])])),
    ]

    /// One tensor per type, with a row length of two blocks where the type is blocked.
    static func declarations() -> [GGUFTensorDeclaration] {
        GGMLType.allCases.enumerated().map { i, type in
            let row = 2 * type.blockSize + (type.blockSize == 1 ? 1 : 0)
            let shape = i % 3 == 0 ? [3, row] : i % 3 == 1 ? [2, 1, 3, row] : [row]
            return GGUFTensorDeclaration(name: "blk.\(i).\(type)", shape: shape, type: type)
        } + [GGUFTensorDeclaration(name: "big", shape: [300, 1000], type: .f32)]   // spans several write chunks
    }

    static func randomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var r = SeededRandom(seed: seed)
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &r) }
    }

    @Test func roundTripsEveryValueTypeAndTensorType() throws {
        let decls = Self.declarations()
        let payload = try decls.enumerated().map { i, d in
            Self.randomBytes(try d.type.byteCount(elements: elementCount(d.shape)!), seed: UInt64(i))
        }
        for alignment in [32, 64, 4096] {
            let p = path("rt-\(alignment).gguf")
            try GGUFWriter.write(path: p, metadata: Self.metadata, tensors: decls, alignment: alignment) { d, chunk, offset in
                let i = decls.firstIndex(of: d)!
                payload[i].withUnsafeBytes { chunk.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + chunk.count])) }
            }
            let f = try GGUFFile(path: p)
            defer { f.close() }
            #expect(f.version == 3 && f.alignment == alignment && f.dataOffset % alignment == 0)
            let expectedKeys = Self.metadata.map(\.key) + (alignment == 32 ? [] : ["general.alignment"])
            #expect(f.metadataKeys == expectedKeys)
            for (k, v) in Self.metadata { #expect(f.metadata[k] == v, "\(k)") }
            if alignment != 32 { #expect(f.metadata["general.alignment"] == .uint32(UInt32(alignment))) }
            #expect(f.tensors.map(\.name) == decls.map(\.name))
            for (i, d) in decls.enumerated() {
                let t = try #require(f.tensor(named: d.name))
                #expect(t.shape == d.shape && t.type == d.type && t.dimensions == d.shape.reversed())
                let data = try f.data(of: t)
                #expect(Int(bitPattern: data.baseAddress) % alignment == 0, "\(d.name) data is misaligned")
                #expect(t.fileOffset == f.dataOffset + t.offset && t.offset % alignment == 0)
                #expect(Array(data) == payload[i], "\(d.name) bytes differ")
            }
        }
    }

    @Test func shapeIsRowMajorWhileTheFileStoresInnermostFirst() throws {
        // ne = [4, 2]: rows of 4 columns, 2 rows -> a PyTorch [2, 4] matrix.
        let p = try write("shape.gguf", RawGGUF(infos: [.init(name: "m", dims: [4, 2], type: 0, offset: 0)], data: 32).bytes)
        let f = try GGUFFile(path: p)
        let t = try #require(f.tensor(named: "m"))
        #expect(t.shape == [2, 4] && t.dimensions == [4, 2] && t.elementCount == 8 && t.byteCount == 32)
        // And the writer stores a row-major [out, in] declaration as ne = [in, out].
        let w = path("shape-w.gguf")
        try GGUFWriter.write(path: w, metadata: [], tensors: [.init(name: "m", shape: [2, 4], type: .f32)]) { _, _, _ in }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: w)))
        let dimsAt = 24 + 8 + 1 + 4   // header, name length, "m", n_dims
        #expect(bytes[dimsAt] == 4 && bytes[dimsAt + 8] == 2)
    }

    @Test func blockSizesAndByteCounts() throws {
        let expected: [GGMLType: (Int, Int)] = [.f32: (1, 4), .f16: (1, 2), .bf16: (1, 2), .q4_0: (32, 18),
                                                .q4_1: (32, 20), .q5_0: (32, 22), .q5_1: (32, 24), .q8_0: (32, 34)]
        for (t, (block, bytes)) in expected { #expect(t.blockSize == block && t.bytesPerBlock == bytes, "\(t)") }
        #expect(try GGMLType.q8_0.byteCount(elements: 64) == 68)
        #expect(try GGMLType.bf16.byteCount(elements: 3) == 6)
        #expect(throws: GGUFError.self) { try GGMLType.q4_0.byteCount(elements: 33) }
        #expect(throws: GGUFError.self) { try GGMLType.f32.byteCount(elements: Int.max) }
        #expect(throws: GGUFError.self) { try GGMLType.f32.byteCount(elements: -1) }
        #expect(GGMLType.q8_0.byteCountIfValid(elements: Int.max / 32 * 32) == nil)
    }

    @Test func valueAccessors() {
        #expect(GGUFValue.uint64(7).int == 7 && GGUFValue.uint64(.max).int == nil && GGUFValue.int8(-3).int == -3)
        #expect(GGUFValue.string("x").string == "x" && GGUFValue.int32(1).string == nil)
        #expect(GGUFValue.float32(0.5).double == 0.5 && GGUFValue.int32(1).double == nil)
        #expect(GGUFValue.strings(["a", "b"]).stringArray == ["a", "b"])
        #expect(GGUFValue.array(.int16, [.int16(-1), .int16(2)]).intArray == [-1, 2])
        #expect(GGUFValue.array(.float64, [.float64(1.5)]).floatArray == [1.5])
        #expect(GGUFValue.array(.int16, [.int16(1)]).stringArray == nil && GGUFValue.bool(true).bool == true)
    }

    @Test func acceptsVersion2() throws {
        let f = try GGUFFile(path: try write("v2.gguf", RawGGUF(version: 2).bytes))
        #expect(f.version == 2 && f.tensors.count == 1 && f.metadata["general.name"]?.string == "t")
    }

    /// Writes `bytes` to a file in the test directory.
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }
}

/// A hand-built GGUF file, independent of `GGUFWriter`, so hostile variants can break any field.
struct RawGGUF {
    struct Info {
        var name: String
        var dims: [UInt64]
        var type: UInt32
        var offset: UInt64
    }

    var magic = Array("GGUF".utf8)
    var version: UInt32 = 3
    var tensorCount: UInt64?
    var kvCount: UInt64?
    /// Encoded metadata entries: key, then type and value bytes.
    var kvs: [[UInt8]] = [RawGGUF.kv("general.name", type: 8, RawGGUF.str("t"))]
    var infos: [Info] = [Info(name: "w", dims: [4], type: 0, offset: 0)]
    var data = 16
    var alignment = 32

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func str(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }
    static func kv(_ key: String, type: UInt32, _ value: [UInt8]) -> [UInt8] { str(key) + le(type) + value }

    var bytes: [UInt8] {
        var b = magic + Self.le(version) + Self.le(tensorCount ?? UInt64(infos.count)) + Self.le(kvCount ?? UInt64(kvs.count))
        for kv in kvs { b += kv }
        for i in infos {
            b += Self.str(i.name) + Self.le(UInt32(i.dims.count))
            for d in i.dims { b += Self.le(d) }
            b += Self.le(i.type) + Self.le(i.offset)
        }
        while b.count % alignment != 0 { b.append(0) }
        return b + [UInt8](repeating: 0xAB, count: data)
    }
}

extension GGUFTests {
    /// One hostile file per row: each must give exactly the expected typed error, naming the file.
    @Test func hostileFilesGiveTypedErrors() throws {
        typealias Row = (name: String, file: RawGGUF, check: (GGUFError) -> Bool)
        func row(_ name: String, _ edit: (inout RawGGUF) -> Void, _ check: @escaping (GGUFError) -> Bool) -> Row {
            var r = RawGGUF()
            edit(&r)
            return (name, r, check)
        }
        func info(_ name: String = "w", _ dims: [UInt64] = [4], type: UInt32 = 0, offset: UInt64 = 0) -> RawGGUF.Info {
            .init(name: name, dims: dims, type: type, offset: offset)
        }
        func at(_ name: String) -> String { path("hostile-\(name).gguf") }
        let u32 = RawGGUF.le as (UInt32) -> [UInt8]
        let u64 = RawGGUF.le as (UInt64) -> [UInt8]
        var nested = u32(4) + u64(1) + u32(7)   // innermost: array of 1 u32
        for _ in 0..<10 { nested = u32(9) + u64(1) + nested }
        let rows: [Row] = [
            row("magic", { $0.magic = Array("GGML".utf8) }) { $0 == .badMagic(path: at("magic"), found: Array("GGML".utf8)) },
            row("v1", { $0.version = 1 }) { if case .unsupportedVersion(_, 1) = $0 { true } else { false } },
            row("bigEndian", { $0.version = UInt32(3).byteSwapped }) {
                if case .unsupportedVersion = $0, $0.description.contains("big-endian") { true } else { false } },
            row("v4", { $0.version = 4 }) { if case .unsupportedVersion(_, 4) = $0 { true } else { false } },
            row("hugeTensorCount", { $0.tensorCount = .max }) { if case .countTooLarge(_, "tensor count", .max, _) = $0 { true } else { false } },
            row("hugeKVCount", { $0.kvCount = 1 << 40 }) { if case .countTooLarge(_, "metadata entry count", _, _) = $0 { true } else { false } },
            row("hugeKeyLength", { $0.kvs = [u64(.max) + u32(4) + u32(1)] }) {
                if case .stringTooLong(_, "key of metadata entry 0", .max, _) = $0 { true } else { false } },
            row("hugeStringValue", { $0.kvs = [RawGGUF.kv("k.s", type: 8, u64(1 << 62))] }) {
                if case .stringTooLong(_, "value of 'k.s'", _, _) = $0 { true } else { false } },
            row("hugeArray", { $0.kvs = [RawGGUF.kv("k.a", type: 9, u32(4) + u64(1 << 60))] }) {
                if case .countTooLarge(_, "array length of 'k.a'", _, _) = $0 { true } else { false } },
            row("deepArray", { $0.kvs = [RawGGUF.kv("k.deep", type: 9, nested)] }) { $0 == .arrayTooDeep(path: at("deepArray"), key: "k.deep", limit: 8) },
            row("valueType", { $0.kvs = [RawGGUF.kv("k.t", type: 13, u32(0))] }) { $0 == .unknownValueType(path: at("valueType"), key: "k.t", type: 13) },
            row("elementType", { $0.kvs = [RawGGUF.kv("k.e", type: 9, u32(99) + u64(0))] }) { $0 == .unknownValueType(path: at("elementType"), key: "k.e", type: 99) },
            row("bool", { $0.kvs = [RawGGUF.kv("k.b", type: 7, [2])] }) { if case .invalidValue(_, "k.b", _) = $0 { true } else { false } },
            row("utf8Key", { $0.kvs = [u64(2) + [0xC3, 0x28] + u32(0) + [1]] }) { if case .invalidUTF8 = $0 { true } else { false } },
            row("duplicateKey", { $0.kvs += $0.kvs }) { $0 == .duplicateKey(path: at("duplicateKey"), key: "general.name") },
            row("alignmentType", { $0.kvs = [RawGGUF.kv("general.alignment", type: 10, u64(32))] }) { if case .badAlignment = $0 { true } else { false } },
            row("alignment3", { $0.kvs = [RawGGUF.kv("general.alignment", type: 4, u32(3))] }) { if case .badAlignment = $0 { true } else { false } },
            row("alignment0", { $0.kvs = [RawGGUF.kv("general.alignment", type: 4, u32(0))] }) { if case .badAlignment = $0 { true } else { false } },
            row("ggmlType", { $0.infos = [info(type: 4)] }) { $0 == .unknownTensorType(path: at("ggmlType"), tensor: "w", type: 4) },
            row("ggmlTypeHuge", { $0.infos = [info(type: .max)] }) { $0 == .unknownTensorType(path: at("ggmlTypeHuge"), tensor: "w", type: .max) },
            row("nDims0", { $0.infos = [info("w0", [])] }) { $0 == .badDimensionCount(path: at("nDims0"), tensor: "w0", count: 0) },
            row("nDims5", { $0.infos = [info("w5", [1, 1, 1, 1, 4])] }) { $0 == .badDimensionCount(path: at("nDims5"), tensor: "w5", count: 5) },
            row("zeroDim", { $0.infos = [info("z", [4, 0])] }) { if case .badDimensions(_, "z", _) = $0 { true } else { false } },
            row("overflowDims", { $0.infos = [info("o", [1 << 32, 1 << 32])] }) { if case .badDimensions(_, "o", _) = $0 { true } else { false } },
            row("hugeDim", { $0.infos = [info("h", [.max])] }) { if case .badDimensions(_, "h", _) = $0 { true } else { false } },
            row("partialBlock", { $0.infos = [info("q", [31], type: 8)] }) { if case .badDimensions(_, "q", _) = $0 { true } else { false } },
            row("misaligned", { $0.infos = [info(offset: 4)]; $0.data = 64 }) {
                $0 == .misalignedTensor(path: at("misaligned"), tensor: "w", offset: 4, alignment: 32) },
            row("pastEnd", { $0.infos = [info(offset: 32)] }) { if case .tensorPastEnd(_, "w", _, _) = $0 { true } else { false } },
            row("pastEndOverflow", { $0.infos = [info(offset: UInt64.max & ~31)] }) { if case .tensorPastEnd(_, "w", .max, _) = $0 { true } else { false } },
            row("pastEndSize", { $0.infos = [info("w", [5])] }) { if case .tensorPastEnd(_, "w", _, _) = $0 { true } else { false } },
            row("overlap", { $0.infos = [info("a", [8]), info("b", [4], offset: 0)]; $0.data = 64 }) {
                if case .overlap(_, _, _) = $0, $0.description.contains("'a'"), $0.description.contains("'b'") { true } else { false } },
            row("duplicateTensor", { $0.infos = [info("d"), info("d", offset: 32)]; $0.data = 64 }) {
                $0 == .duplicateTensor(path: at("duplicateTensor"), name: "d") },
            row("infoCountLie", { $0.tensorCount = 2 }) { if case .countTooLarge(_, "tensor count", 2, 1) = $0 { true } else { false } },
            // Room for a second info, but what follows the first is padding and data, not an info.
            row("infoCountLieRoom", { $0.tensorCount = 2; $0.data = 64 }) { if case .stringTooLong(_, "name of tensor 1", _, _) = $0 { true } else { false } },
        ]
        let weights = MemoryCounters.bytes(owner: .weights)
        let fds = Self.descriptorCount()
        for row in rows {
            let p = try write("hostile-\(row.name).gguf", row.file.bytes)
            do {
                _ = try GGUFFile(path: p)
                Issue.record("\(row.name) was accepted")
            } catch {
                #expect(row.check(error), "\(row.name): \(error)")
                #expect(error.description.contains(p), "\(row.name): \(error) does not name the file")
            }
        }
        #expect(MemoryCounters.bytes(owner: .weights) == weights)
        #expect(Self.descriptorCount() == fds)
    }

    /// Every prefix of a valid file that cuts into its structure or tensor data is refused;
    /// the prefixes that only drop trailing padding still parse.
    @Test func everyTruncationIsATypedError() throws {
        let p = path("full.gguf")
        let decls = [GGUFTensorDeclaration(name: "a", shape: [2, 32], type: .q8_0),
                     GGUFTensorDeclaration(name: "b", shape: [3], type: .f16)]
        try GGUFWriter.write(path: p, metadata: [("k", .strings(["x", "yz"])), ("n", .array(.array, [.array(.int8, [.int8(1)])]))],
                             tensors: decls) { _, chunk, _ in chunk.initializeMemory(as: UInt8.self, repeating: 7) }
        let full = [UInt8](try Data(contentsOf: URL(fileURLWithPath: p)))
        let dataEnd = try { () throws -> Int in
            let f = try GGUFFile(path: p)
            return f.tensors.map { $0.fileOffset + $0.byteCount }.max()!
        }()
        #expect(dataEnd < full.count)   // the writer pads after the last tensor
        let weights = MemoryCounters.bytes(owner: .weights)
        let fds = Self.descriptorCount()
        let cut = path("cut.gguf")
        for n in 0..<full.count {
            try Data(full[0..<n]).write(to: URL(fileURLWithPath: cut))
            if n < dataEnd {
                #expect(throws: GGUFError.self, "prefix of \(n) bytes") { _ = try GGUFFile(path: cut) }
            } else {
                #expect(try GGUFFile(path: cut).tensors.count == 2)
            }
        }
        #expect(MemoryCounters.bytes(owner: .weights) == weights)
        #expect(Self.descriptorCount() == fds)
    }

    @Test func closeReturnsMappedBytesAndHoldsNoDescriptor() throws {
        let p = path("counters.gguf")
        let weights = MemoryCounters.bytes(owner: .weights)
        let scratch = MemoryCounters.bytes(owner: .scratch)
        let fds = Self.descriptorCount()
        try GGUFWriter.write(path: p, metadata: Self.metadata, tensors: [.init(name: "w", shape: [64, 64], type: .bf16)]) { _, _, _ in }
        #expect(MemoryCounters.bytes(owner: .scratch) == scratch && Self.descriptorCount() == fds)
        let f = try GGUFFile(path: p)
        #expect(MemoryCounters.bytes(owner: .weights) == weights + f.storage.mappedBytes)
        #expect(Self.descriptorCount() == fds)
        let t = try #require(f.tensor(named: "w"))
        #expect(try f.data(of: t).count == 64 * 64 * 2)
        f.close()
        f.close()
        #expect(MemoryCounters.bytes(owner: .weights) == weights)
        #expect(throws: GGUFError.closed(path: p)) { _ = try f.data(of: t) }
        #expect(throws: GGUFError.missingTensor(path: p, name: "nope")) { _ = try f.data(named: "nope") }
        #expect(throws: GGUFError.fileNotFound(path: path("absent.gguf"))) { _ = try GGUFFile(path: path("absent.gguf")) }
        #expect(throws: GGUFError.self) { _ = try GGUFFile(path: dir.path) }
        #expect(Self.descriptorCount() == fds)
    }
}

extension GGUFTests {
    struct FillFailed: Error {}

    /// Files left in the test directory besides `keep` (temporary files must never remain).
    func leftovers(keeping keep: Set<String> = []) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { !keep.contains($0) }
    }

    @Test func writerRefusesBadInputAndLeavesNothingBehind() throws {
        let p = path("w.gguf")
        let f32 = GGUFTensorDeclaration(name: "a", shape: [2, 2], type: .f32)
        let fds = Self.descriptorCount()
        let scratch = MemoryCounters.bytes(owner: .scratch)
        // Rejected before a byte is written.
        #expect(throws: GGUFError.duplicateTensor(path: p, name: "a")) { _ = try GGUFWriter(path: p, metadata: [], tensors: [f32, f32]) }
        #expect(throws: GGUFError.duplicateKey(path: p, key: "k")) {
            _ = try GGUFWriter(path: p, metadata: [("k", .bool(true)), ("k", .bool(false))], tensors: [])
        }
        #expect(throws: GGUFError.self) { _ = try GGUFWriter(path: p, metadata: [("m", .array(.int32, [.uint8(1)]))], tensors: []) }
        #expect(throws: GGUFError.self) { _ = try GGUFWriter(path: p, metadata: [], tensors: [.init(name: "q", shape: [4, 33], type: .q4_0)]) }
        #expect(throws: GGUFError.self) { _ = try GGUFWriter(path: p, metadata: [], tensors: [.init(name: "z", shape: [4, 0], type: .f32)]) }
        #expect(throws: GGUFError.self) { _ = try GGUFWriter(path: p, metadata: [], tensors: [.init(name: "s", shape: [], type: .f32)]) }
        #expect(throws: GGUFError.self) { _ = try GGUFWriter(path: p, metadata: [], tensors: [.init(name: "o", shape: [1 << 40, 1 << 40], type: .f32)]) }
        #expect(throws: GGUFError.self) {
            _ = try GGUFWriter(path: p, metadata: [], tensors: [.init(name: String(repeating: "n", count: 64), shape: [1], type: .f32)])
        }
        #expect(throws: GGUFError.self) { _ = try GGUFWriter(path: p, metadata: [], tensors: [], alignment: 48) }
        #expect(throws: GGUFError.self) { _ = try GGUFWriter(path: p, metadata: [("general.alignment", .uint32(64))], tensors: []) }
        #expect(throws: GGUFError.self) { _ = try GGUFWriter(path: path("no/such/dir.gguf"), metadata: [], tensors: []) }
        // Arrays nest as deep as the reader accepts, and no deeper.
        func nest(_ levels: Int) -> GGUFValue {
            (1..<levels).reduce(GGUFValue.array(.int8, [.int8(1)])) { v, _ in .array(.array, [v]) }
        }
        #expect(throws: GGUFError.arrayTooDeep(path: p, key: "d", limit: 8)) {
            _ = try GGUFWriter(path: p, metadata: [("d", nest(9))], tensors: [])
        }
        #expect(leftovers().isEmpty)
        try GGUFWriter.write(path: p, metadata: [("d", nest(8))], tensors: []) { _, _, _ in }
        #expect(try GGUFFile(path: p).metadata["d"] == nest(8))
        try FileManager.default.removeItem(atPath: p)

        // Failures while streaming remove the temporary file and keep the destination absent.
        let sixteen = [UInt8](repeating: 1, count: 16)
        var w = try GGUFWriter(path: p, metadata: [], tensors: [f32])
        #expect(leftovers().count == 1)   // the temporary file, under another name
        #expect(throws: GGUFError.sizeMismatch(path: p, tensor: "a", expectedBytes: 16, actualBytes: 15)) {
            try sixteen.withUnsafeBytes { try w.writeTensor(named: "a", bytes: UnsafeRawBufferPointer(rebasing: $0[0..<15])) }
        }
        #expect(leftovers().isEmpty)
        #expect(throws: GGUFError.self) { try w.finish() }   // the writer stays failed

        w = try GGUFWriter(path: p, metadata: [], tensors: [f32, .init(name: "b", shape: [1], type: .f32)])
        #expect(throws: GGUFError.outOfOrder(path: p, expected: "a", actual: "b")) {
            try sixteen.withUnsafeBytes { try w.writeTensor(named: "b", bytes: UnsafeRawBufferPointer(rebasing: $0[0..<4])) }
        }
        #expect(leftovers().isEmpty)

        w = try GGUFWriter(path: p, metadata: [], tensors: [f32])
        #expect(throws: FillFailed.self) { try w.writeTensor(named: "a") { _, _ in throw FillFailed() } }
        #expect(leftovers().isEmpty)

        w = try GGUFWriter(path: p, metadata: [], tensors: [f32])
        try sixteen.withUnsafeBytes { try w.append(UnsafeRawBufferPointer(rebasing: $0[0..<10])) }
        #expect(throws: GGUFError.sizeMismatch(path: p, tensor: "a", expectedBytes: 16, actualBytes: 10)) { try w.finish() }
        #expect(leftovers().isEmpty)

        w = try GGUFWriter(path: p, metadata: [], tensors: [f32])
        #expect(leftovers().count == 1)
        w = try GGUFWriter(path: path("other.gguf"), metadata: [], tensors: [])   // the first writer is dropped unfinished
        #expect(leftovers().count == 1)
        w.cancel()
        #expect(leftovers().isEmpty)
        #expect(Self.descriptorCount() == fds)
        #expect(MemoryCounters.bytes(owner: .scratch) == scratch)
    }

    @Test func writerAcceptsTensorsInPiecesAndNoTensorsAtAll() throws {
        let p = path("pieces.gguf")
        let decls = [GGUFTensorDeclaration(name: "a", shape: [3, 32], type: .q4_1), .init(name: "b", shape: [5], type: .i8)]
        let a = Self.randomBytes(3 * 20, seed: 1), b = Self.randomBytes(5, seed: 2)
        let w = try GGUFWriter(path: p, metadata: ["z": .int64(1), "a": .string("first")], tensors: decls)
        #expect(w.nextTensor == decls[0] && w.byteCounts == [60, 5])
        try a.withUnsafeBytes { all in
            for s in stride(from: 0, to: 60, by: 7) { try w.append(UnsafeRawBufferPointer(rebasing: all[s..<min(s + 7, 60)])) }
        }
        #expect(w.nextTensor == decls[1])
        try b.withUnsafeBytes { try w.writeTensor(named: "b", bytes: $0) }
        #expect(w.nextTensor == nil)
        try w.finish()
        #expect(leftovers(keeping: ["pieces.gguf"]).isEmpty)
        let f = try GGUFFile(path: p)
        #expect(f.metadataKeys == ["a", "z"])   // dictionary metadata is written sorted
        #expect(try Array(f.data(named: "a")) == a)
        #expect(try Array(f.data(named: "b")) == b)

        let empty = path("empty.gguf")
        try GGUFWriter.write(path: empty, metadata: [], tensors: []) { _, _, _ in }
        let e = try GGUFFile(path: empty)
        #expect(e.tensors.isEmpty && e.metadata.isEmpty)
    }
}
