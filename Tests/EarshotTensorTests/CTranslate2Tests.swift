import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotTensor

/// CTranslate2 `model.bin` reader and writer. Serialized because several tests compare
/// process-wide counters (mapped bytes, open descriptors) before and after.
@Suite(.serialized) struct CTranslate2Tests {
    let dir: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("ct2-\(UUID())")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Writes `bytes` to a file in the test directory.
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    static func descriptorCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    static func randomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var r = SeededRandom(seed: seed)
        return (0..<n).map { _ in UInt8.random(in: 0...255, using: &r) }
    }

    /// A small Whisper-shaped model: every dtype, scalars of every integer type, given unsorted.
    static let entries: [CTranslate2Writer.Entry] = [
        .init(name: "encoder/num_heads", scalar: 6, as: .int16),
        .init(name: "decoder/embeddings/weight", shape: [7, 4], floats: (0..<28).map { Float($0) / 8 - 1 }, as: .float16),
        .init(name: "decoder/activation", scalar: 3, as: .int8),
        .init(name: "decoder/alignment_layer", scalar: -1, as: .int16),
        .init(name: "encoder/conv1/weight", shape: [4, 3, 3], floats: (0..<36).map { Float($0) * 0.25 }),
        .init(name: "encoder/conv1/bias", shape: [4], floats: [1, -2, 3.5, 1e-3], as: .bfloat16),
        .init(name: "x/big_int", scalar: -2_000_000_000, as: .int32),
        .init(name: "x/ints", shape: [3], dtype: .int32, bytes: randomBytes(12, seed: 1)),
        .init(name: "x/int8s", shape: [2, 3], dtype: .int8, bytes: randomBytes(6, seed: 2)),
        .init(name: "x/int16s", shape: [1, 5], dtype: .int16, bytes: randomBytes(10, seed: 3)),
        .init(name: "x/empty", shape: [0, 4], dtype: .float32, bytes: []),
        .init(name: "x/float_scalar", shape: [], floats: [0.5]),
        .init(name: "x/ünïcödé ✓", shape: [1], floats: [2]),
    ]
    static let aliases = [("decoder/projection/weight", "decoder/embeddings/weight"), ("x/same_heads", "encoder/num_heads")]

    @Test func roundTrip() throws {
        let p = path("rt.bin")
        try CTranslate2Writer.write(to: p, entries: Self.entries, aliases: Self.aliases)
        let f = try CTranslate2File(path: p)
        defer { f.close() }
        #expect(f.version == 6 && f.specName == "WhisperSpec" && f.specRevision == 3)
        #expect(f.variableNames == Self.entries.map(\.name).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(f.aliases == Dictionary(uniqueKeysWithValues: Self.aliases))
        var end = 0
        for name in f.variableNames {
            let v = try #require(f.variable(name))
            let e = try #require(Self.entries.first { $0.name == name })
            #expect(v.name == name && v.shape == e.shape && v.dtype == e.dtype && v.byteCount == e.bytes.count)
            #expect(Array(f.data(v)) == e.bytes, "\(name)")
            #expect(v.offset > end, "\(name) must follow the previous variable's data")
            end = v.offset + v.byteCount
        }
        // Float encodings: float16 and bfloat16 decode back to the values written.
        let emb = try #require(f.variable("decoder/embeddings/weight"))
        var decoded = [Float](repeating: 0, count: 28)
        let halves = Array(f.data(emb)).withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }   // copied: the data is unaligned
        Kernels.f16ToF32(halves, &decoded, count: 28)
        #expect(decoded == (0..<28).map { Float($0) / 8 - 1 })
        let biasVariable = try #require(f.variable("encoder/conv1/bias"))
        let bias = Array(f.data(biasVariable)).withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
        #expect(bias.map { Float(bitPattern: UInt32($0) << 16) } == [1, -2, 3.5, Float(bitPattern: UInt32(bf16Bits(1e-3)) << 16)])
        // Aliases resolve to the target, data and all.
        #expect(f.variable("decoder/projection/weight") == emb)
        #expect(f.integerScalar("x/same_heads") == 6)
        #expect(f.variable("nope") == nil)
        // Integer scalars, sign-extended.
        #expect(f.integerScalar("encoder/num_heads") == 6)
        #expect(f.integerScalar("decoder/activation") == 3)
        #expect(f.integerScalar("decoder/alignment_layer") == -1)
        #expect(f.integerScalar("x/big_int") == -2_000_000_000)
        #expect(f.integerScalar("x/float_scalar") == nil && f.integerScalar("x/ints") == nil && f.integerScalar("nope") == nil)
        #expect(f.integerScalar("x/int16s") == nil && f.variable("x/empty")?.elementCount == 0)
    }

    /// The writer's bytes match the format written out by hand.
    @Test func writerLayoutIsExact() throws {
        let p = path("exact.bin")
        try CTranslate2Writer.write(to: p, specName: "S", specRevision: 9,
                                    entries: [.init(name: "b", shape: [2], dtype: .int8, bytes: [7, 8]), .init(name: "a", scalar: 5, as: .int16)],
                                    aliases: [("c", "a")])
        let expected = RawCT2(spec: "S", revision: 9, variables: [.init("a", [], type: 2, data: [5, 0]), .init("b", [2], type: 1, data: [7, 8])],
                              aliases: [("c", "a")]).bytes
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: p))) == expected)
        #expect(expected.prefix(8) == [6, 0, 0, 0, 2, 0, UInt8(ascii: "S"), 0])
    }

    /// Versions 1 to 5: no spec before 2, no aliases before 3, item sizes before 4.
    @Test func olderVersions() throws {
        let legacy: [RawCT2.Variable] = [.init("f", [2], type: 4, count: 2, data: [UInt8](repeating: 1, count: 8)),
                                         .init("h", [], type: 2, count: 1, data: [0xFE, 0xFF]),
                                         .init("q", [1, 3], type: 1, count: 3, data: [1, 2, 3])]
        let v1 = try CTranslate2File(path: write("v1.bin", RawCT2(version: 1, variables: legacy).bytes))
        #expect(v1.version == 1 && v1.specName == "" && v1.specRevision == 1 && v1.aliases.isEmpty)
        #expect(v1.variableNames == ["f", "h", "q"])
        #expect(v1.variable("f")?.dtype == .float32 && v1.variable("q")?.dtype == .int8 && v1.variable("q")?.shape == [1, 3])
        #expect(v1.integerScalar("h") == -2 && v1.variable("h")?.dtype == .int16)
        let q = try #require(v1.variable("q"))
        #expect(Array(v1.data(q)) == [1, 2, 3])

        let v2 = try CTranslate2File(path: write("v2.bin", RawCT2(version: 2, spec: "TransformerSpec", revision: 4, variables: legacy).bytes))
        #expect(v2.version == 2 && v2.specName == "TransformerSpec" && v2.specRevision == 4 && v2.aliases.isEmpty)

        let v3 = try CTranslate2File(path: write("v3.bin", RawCT2(version: 3, variables: legacy, aliases: [("g", "f")]).bytes))
        #expect(v3.version == 3 && v3.aliases == ["g": "f"] && v3.variable("g")?.name == "f")

        let modern: [RawCT2.Variable] = [.init("a", [2, 2], type: 4, data: [UInt8](repeating: 2, count: 8)),
                                         .init("b", [], type: 3, data: [1, 0, 0, 0])]
        for version in [4, 5] {
            let f = try CTranslate2File(path: write("v\(version).bin", RawCT2(version: UInt32(version), variables: modern, aliases: [("c", "b")]).bytes))
            #expect(f.version == version && f.variable("a")?.dtype == .float16 && f.integerScalar("c") == 1)
        }
        // In a version 3 file the byte after the dims is an item size: 4 is float32 there, not float16.
        let v3four = try CTranslate2File(path: write("v3-four.bin", RawCT2(version: 3, variables: [.init("x", [1], type: 4, count: 1, data: [0, 0, 0, 0])]).bytes))
        #expect(v3four.variable("x")?.dtype == .float32)
    }

    @Test func trailingBytesAreIgnoredAndVariablesNeedNotBeSorted() throws {
        var raw = RawCT2(variables: [.init("z", [1], type: 1, data: [9]), .init("a", [1], type: 1, data: [8])])
        raw.trailing = [1, 2, 3, 4, 5]
        let f = try CTranslate2File(path: write("trailing.bin", raw.bytes))
        let z = try #require(f.variable("z"))
        #expect(f.variableNames == ["a", "z"] && Array(f.data(z)) == [9])
    }
}

/// A hand-built CTranslate2 file, independent of `CTranslate2Writer`, so hostile variants can
/// break any field.
struct RawCT2 {
    struct Variable {
        var name: [UInt8]
        var dims: [UInt32]
        /// dtype (version 4+) or item size (before).
        var type: UInt8
        /// Byte count (version 4+) or element count (before); defaults to `data.count` / item size.
        var count: UInt32?
        var data: [UInt8]

        init(_ name: String, _ dims: [UInt32], type: UInt8, count: UInt32? = nil, data: [UInt8]) {
            self.init(rawName: RawCT2.str(name), dims, type: type, count: count, data: data)
        }

        init(rawName: [UInt8], _ dims: [UInt32], type: UInt8, count: UInt32? = nil, data: [UInt8]) {
            self.name = rawName
            self.dims = dims
            self.type = type
            self.count = count
            self.data = data
        }
    }

    var version: UInt32 = 6
    var spec = "WhisperSpec"
    var revision: UInt32 = 3
    var variables: [Variable] = [Variable("w", [2], type: 0, data: [UInt8](repeating: 0xAB, count: 8))]
    var variableCount: UInt32?
    var aliases: [(String, String)] = []
    var rawAliases: [[UInt8]] = []
    var trailing: [UInt8] = []

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    /// A CTranslate2 string: u16 length counting the NUL, the bytes, the NUL.
    static func str(_ s: String) -> [UInt8] { le(UInt16(s.utf8.count + 1)) + Array(s.utf8) + [0] }

    var bytes: [UInt8] {
        var b = Self.le(version)
        if version >= 2 { b += Self.str(spec) + Self.le(revision) }
        b += Self.le(variableCount ?? UInt32(variables.count))
        for v in variables {
            b += v.name + [UInt8(v.dims.count)]
            for d in v.dims { b += Self.le(d) }
            let count = v.count ?? UInt32(version >= 4 ? v.data.count : v.data.count / max(Int(v.type), 1))
            b += [v.type] + Self.le(count) + v.data
        }
        if version >= 3 {
            b += Self.le(UInt32(aliases.count + rawAliases.count))
            for (a, t) in aliases { b += Self.str(a) + Self.str(t) }
            for a in rawAliases { b += a }
        }
        return b + trailing
    }
}

extension CTranslate2Tests {
    /// One hostile file per row: each must give exactly the expected typed error, naming the file.
    @Test func hostileFilesGiveTypedErrors() throws {
        typealias Row = (name: String, file: RawCT2, check: (CTranslate2Error) -> Bool)
        func row(_ name: String, _ edit: (inout RawCT2) -> Void, _ check: @escaping (CTranslate2Error) -> Bool) -> Row {
            var r = RawCT2()
            edit(&r)
            return (name, r, check)
        }
        typealias V = RawCT2.Variable
        func at(_ name: String) -> String { path("hostile-\(name).bin") }
        let f32x2 = [UInt8](repeating: 0, count: 8)
        let namesStart = 4 + 2 + 12 + 4 + 4   // version, spec string, revision, count
        let rows: [Row] = [
            row("version0", { $0.version = 0 }) { $0 == .unsupportedVersion(path: at("version0"), version: 0) },
            row("version7", { $0.version = 7 }) { $0 == .unsupportedVersion(path: at("version7"), version: 7) },
            row("versionBigEndian", { $0.version = UInt32(6).byteSwapped }) { if case .unsupportedVersion = $0 { true } else { false } },
            row("dtype6", { $0.variables = [V("w", [1], type: 6, data: [0])] }) {
                $0 == .unknownDType(path: at("dtype6"), variable: "w", offset: namesStart + 4 + 1 + 4, dtype: 6) },
            row("dtype255", { $0.variables = [V("w", [], type: 255, data: [0])] }) { if case .unknownDType(_, "w", _, 255) = $0 { true } else { false } },
            row("rank9", { $0.variables = [V("w", [UInt32](repeating: 1, count: 9), type: 0, data: [0, 0, 0, 0])] }) {
                if case .badRank(_, "w", _, 9) = $0 { true } else { false } },
            row("dimsOverflow", { $0.variables = [V("o", [1 << 31, 1 << 31, 1 << 31], type: 0, count: 0, data: [])] }) {
                if case .badShape(_, "o", _, let r) = $0, r.contains("overflows at dimension 2") { true } else { false } },
            row("bytesOverflow", { $0.variables = [V("o", [1 << 31, 1 << 31], type: 0, count: 0, data: [])] }) {
                if case .badShape(_, "o", _, let r) = $0, r.contains("overflows the byte count") { true } else { false } },
            row("byteCountShort", { $0.variables = [V("w", [2], type: 0, count: 7, data: f32x2)] }) {
                if case .sizeMismatch(_, "w", _, 8, 7) = $0 { true } else { false } },
            row("byteCountHuge", { $0.variables = [V("w", [2], type: 0, count: .max, data: f32x2)] }) {
                if case .sizeMismatch(_, "w", _, 8, Int(UInt32.max)) = $0 { true } else { false } },
            row("scalarTwoBytes", { $0.variables = [V("s", [], type: 1, data: [1, 2])] }) { if case .sizeMismatch(_, "s", _, 1, 2) = $0 { true } else { false } },
            row("duplicate", { $0.variables = [V("d", [2], type: 0, data: f32x2), V("d", [2], type: 0, data: f32x2)] }) {
                $0 == .duplicateVariable(path: at("duplicate"), name: "d", offset: namesStart + 4 + 1 + 4 + 1 + 4 + 8) },
            row("aliasTargetMissing", { $0.aliases = [("a", "nope")] }) { if case .badAlias(_, "a", "nope", _, let r) = $0, r.contains("no variable") { true } else { false } },
            row("aliasToAlias", { $0.aliases = [("a", "w"), ("b", "a")] }) { if case .badAlias(_, "b", "a", _, let r) = $0, r.contains("another alias") { true } else { false } },
            row("aliasShadowsVariable", { $0.aliases = [("w", "w")] }) { if case .badAlias(_, "w", "w", _, let r) = $0, r.contains("variable already") { true } else { false } },
            row("aliasTwice", { $0.aliases = [("a", "w"), ("a", "w")] }) { if case .badAlias(_, "a", "w", _, let r) = $0, r.contains("more than once") { true } else { false } },
            row("nameLength0", { $0.variables = [V(rawName: [0, 0], [2], type: 0, data: f32x2)] }) {
                $0 == .badString(path: at("nameLength0"), what: "name of variable 0", offset: namesStart,
                                 reason: "has length 0 (the length counts a terminating NUL)") },
            row("nameNoNUL", { $0.variables = [V(rawName: [2, 0, 0x61, 0x62], [2], type: 0, data: f32x2)] }) {
                if case .badString(_, "name of variable 0", _, let r) = $0, r.contains("NUL byte") { true } else { false } },
            row("nameInnerNUL", { $0.variables = [V(rawName: [3, 0, 0x61, 0, 0], [2], type: 0, data: f32x2)] }) {
                if case .badString(_, "name of variable 0", _, let r) = $0, r.contains("position 1") { true } else { false } },
            row("nameUTF8", { $0.variables = [V(rawName: [3, 0, 0xC3, 0x28, 0], [2], type: 0, data: f32x2)] }) {
                if case .badString(_, "name of variable 0", _, "is not valid UTF-8") = $0 { true } else { false } },
            row("aliasUTF8", { $0.rawAliases = [[2, 0, 0xFF, 0] + RawCT2.str("w")] }) {
                if case .badString(_, "name of alias 0", _, "is not valid UTF-8") = $0 { true } else { false } },
            // Version 2 has no alias count after the variables, so the lie meets the end of the file.
            row("countLie", { $0.version = 2; $0.variables = [V("w", [2], type: 4, data: f32x2)]; $0.variableCount = 2 }) {
                if case .truncated(_, "length of name of variable 1", _, 2, _) = $0 { true } else { false } },
            row("countHuge", { $0.version = 2; $0.variables = [V("w", [2], type: 4, data: f32x2)]; $0.variableCount = .max }) { if case .truncated = $0 { true } else { false } },
            // Version 3: item sizes and element counts.
            row("itemSize3", { $0.version = 3; $0.variables = [V("i", [1], type: 3, count: 1, data: [0, 0, 0])] }) {
                $0 == .unsupportedItemSize(path: at("itemSize3"), variable: "i", offset: namesStart + 4 + 1 + 4, itemSize: 3) },
            row("elementCountMismatch", { $0.version = 3; $0.variables = [V("e", [2, 2], type: 1, count: 3, data: [1, 2, 3])] }) {
                if case .badShape(_, "e", _, let r) = $0, r.contains("holds 4 elements") { true } else { false } },
        ]
        // Rows whose bytes need more than an edit of the model.
        var specless = RawCT2()
        specless.spec = ""
        var specBytes = specless.bytes
        specBytes[4] = 0   // spec length 0 instead of 1
        var pastEnd = RawCT2(variables: [.init("w", [4], type: 0, data: [UInt8](repeating: 0, count: 16))])
        pastEnd.trailing = []
        let pastEndBytes = Array(pastEnd.bytes.dropLast(4 + 4))   // no alias count, and 12 of the 16 data bytes
        let extra: [(name: String, bytes: [UInt8], check: (CTranslate2Error) -> Bool)] = [
            ("specLength0", specBytes, { $0 == .badString(path: at("specLength0"), what: "spec name", offset: 4,
                                                          reason: "has length 0 (the length counts a terminating NUL)") }),
            ("dataPastEnd", pastEndBytes, { if case .truncated(_, let w, namesStart + 4 + 1 + 4 + 1 + 4, 16, _) = $0, w.hasPrefix("data of 'w'") { true } else { false } }),
            ("empty", [], { $0 == .truncated(path: at("empty"), what: "binary version", offset: 0, needed: 4, fileSize: 0) }),
            ("threeBytes", [6, 0, 0], { $0 == .truncated(path: at("threeBytes"), what: "binary version", offset: 0, needed: 4, fileSize: 3) }),
        ]
        let weights = MemoryCounters.bytes(owner: .weights)
        let fds = Self.descriptorCount()
        let all = rows.map { ($0.name, $0.file.bytes, $0.check) } + extra
        for (name, bytes, check) in all {
            let p = try write("hostile-\(name).bin", bytes)
            do throws(CTranslate2Error) {
                _ = try CTranslate2File(path: p)
                Issue.record("\(name) was accepted")
            } catch {
                #expect(check(error), "\(name): \(error)")
                #expect(error.description.hasPrefix(p), "\(name): \(error) does not name the file")
            }
        }
        #expect(MemoryCounters.bytes(owner: .weights) == weights)
        #expect(Self.descriptorCount() == fds)
    }

    /// Every strict prefix of a valid file is refused with `truncated` (the format has no
    /// padding, so every byte belongs to something); the whole file parses.
    @Test func everyTruncationIsATypedError() throws {
        let p = path("full.bin")
        try CTranslate2Writer.write(to: p, entries: Self.entries, aliases: Self.aliases)
        let full = [UInt8](try Data(contentsOf: URL(fileURLWithPath: p)))
        let weights = MemoryCounters.bytes(owner: .weights)
        let fds = Self.descriptorCount()
        let cut = path("cut.bin")
        for n in 0..<full.count {
            try Data(full[0..<n]).write(to: URL(fileURLWithPath: cut))
            do throws(CTranslate2Error) {
                _ = try CTranslate2File(path: cut)
                Issue.record("prefix of \(n) bytes was accepted")
            } catch {
                guard case .truncated(cut, _, let offset, let needed, n) = error, offset <= n, offset + needed > n else {
                    Issue.record("prefix of \(n) bytes: \(error)")
                    continue
                }
            }
        }
        #expect(try CTranslate2File(path: p).variableNames.count == Self.entries.count)
        #expect(MemoryCounters.bytes(owner: .weights) == weights)
        #expect(Self.descriptorCount() == fds)
    }

    @Test func openingFailuresAndClose() throws {
        let weights = MemoryCounters.bytes(owner: .weights)
        let fds = Self.descriptorCount()
        #expect(throws: CTranslate2Error.fileNotFound(path: path("absent.bin"))) { _ = try CTranslate2File(path: path("absent.bin")) }
        let notAFile = #expect(throws: CTranslate2Error.self) { _ = try CTranslate2File(path: dir.path) }
        #expect({ if case .cannotMap(dir.path, _) = notAFile { true } else { false } }(), "\(String(describing: notAFile))")
        #expect(throws: CTranslate2Error.truncated(path: path("empty.bin"), what: "binary version", offset: 0, needed: 4, fileSize: 0)) {
            _ = try CTranslate2File(path: try write("empty.bin", []))
        }

        let p = path("close.bin")
        try CTranslate2Writer.write(to: p, entries: Self.entries, aliases: Self.aliases)
        let f = try CTranslate2File(path: p)
        #expect(MemoryCounters.bytes(owner: .weights) == weights + f.mappedBytes)
        #expect(f.mappedBytes % PageBuffer.pageSize == 0 && f.mappedBytes >= f.storage.byteCount)
        #expect(Self.descriptorCount() == fds)   // the descriptor is closed right after mapping
        let v = try #require(f.variable("encoder/conv1/weight"))
        #expect(f.data(v).count == 36 * 4)
        // A variable that does not lie inside the file gives no bytes.
        let foreign = CTranslate2Variable(name: "f", shape: [1 << 40], dtype: .float32, offset: f.storage.byteCount - 2, byteCount: 4)
        #expect(f.data(foreign).isEmpty)
        f.close()
        f.close()
        #expect(MemoryCounters.bytes(owner: .weights) == weights)
        #expect(f.data(v).isEmpty && f.integerScalar("encoder/num_heads") == nil)
        #expect(f.variable("encoder/conv1/weight") == v)   // the index outlives the mapping
        #expect(Self.descriptorCount() == fds)
    }

    @Test func writerRefusesBadInput() throws {
        let p = path("bad.bin")
        let ok = CTranslate2Writer.Entry(name: "a", shape: [2], dtype: .int8, bytes: [1, 2])
        func refused(_ entries: [CTranslate2Writer.Entry], aliases: [(String, String)] = [], spec: String = "S",
                     containing text: String) {
            let e = #expect(throws: CTranslate2Error.self) {
                try CTranslate2Writer.write(to: p, specName: spec, entries: entries, aliases: aliases)
            }
            #expect({ if case .invalidEntry(p, _, let r) = e, r.contains(text) { true } else { false } }(), "\(String(describing: e))")
        }
        refused([ok, ok], containing: "more than once")
        refused([.init(name: "a", shape: [3], dtype: .int8, bytes: [1, 2])], containing: "got 2")
        refused([.init(name: "a", shape: [2], floats: [1, 2], as: .int8)], containing: "floats cannot be stored as int8")
        refused([.init(name: "a", scalar: 300, as: .int8)], containing: "300 cannot be stored as int8")
        refused([.init(name: "a", scalar: 1, as: .float32)], containing: "cannot be stored as float32")
        refused([.init(name: "a", shape: [Int](repeating: 1, count: 9), dtype: .int8, bytes: [1])], containing: "rank 9")
        refused([.init(name: "a", shape: [1 << 32], dtype: .int8, bytes: [])], containing: "does not fit in 32 bits")
        refused([.init(name: "a", shape: [-1], dtype: .int8, bytes: [])], containing: "does not fit in 32 bits")
        refused([.init(name: "a\0b", shape: [2], dtype: .int8, bytes: [1, 2])], containing: "NUL")
        refused([.init(name: String(repeating: "n", count: 65535), shape: [], dtype: .int8, bytes: [1])], containing: "longer than")
        refused([ok], spec: "a\0", containing: "NUL")
        refused([ok], aliases: [("b", "c")], containing: "is not a variable")
        refused([ok], aliases: [("a", "a")], containing: "a variable's name")
        refused([ok], aliases: [("b", "a"), ("b", "a")], containing: "more than once")
        #expect(!FileManager.default.fileExists(atPath: p))
        let e = #expect(throws: CTranslate2Error.self) { try CTranslate2Writer.write(to: path("no/such/dir.bin"), entries: [ok]) }
        #expect({ if case .writeFailed = e { true } else { false } }(), "\(String(describing: e))")
        // The longest name that fits, and an empty name, both round-trip.
        let long = String(repeating: "n", count: 65534)
        try CTranslate2Writer.write(to: p, entries: [.init(name: long, scalar: 1, as: .int32), .init(name: "", scalar: 2, as: .int8)])
        let f = try CTranslate2File(path: p)
        #expect(f.integerScalar(long) == 1 && f.integerScalar("") == 2)
    }
}

// MARK: - The real tiny.en model

/// `model.bin` of the fetched tiny.en model (scripts/fetch-whisper-models), if present.
let realTinyEn: String = {
    let env = ProcessInfo.processInfo.environment
    let root = env["EARSHOT_WHISPER_CACHE"] ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/earshot/whisper").path
    return root + "/tiny.en/model.bin"
}()

extension CTranslate2Tests {
    @Test(.enabled(if: FileManager.default.fileExists(atPath: realTinyEn), "needs scripts/fetch-whisper-models tiny.en"))
    func realTinyEnModel() throws {
        let f = try CTranslate2File(path: realTinyEn)
        defer { f.close() }
        #expect(f.version == 6 && f.specName == "WhisperSpec" && f.specRevision == 3)
        #expect(f.variableNames.count == 148)
        #expect(f.aliases == ["decoder/projection/weight": "decoder/embeddings/weight"])
        let conv = try #require(f.variable("encoder/conv1/weight"))
        #expect(conv.shape == [384, 80, 3] && conv.dtype == .float16 && conv.byteCount == 384 * 80 * 3 * 2)
        let emb = try #require(f.variable("decoder/embeddings/weight"))
        #expect(emb.shape == [51864, 384] && emb.dtype == .float16)
        #expect(f.variable("decoder/projection/weight") == emb)
        #expect(f.integerScalar("encoder/num_heads") == 6 && f.integerScalar("decoder/num_heads") == 6)
        #expect(f.integerScalar("decoder/alignment_layer") == -1)
        // Everything is float16 except the nine scalars; the last variable ends where the aliases begin.
        let all = f.variableNames.compactMap { f.variable($0) }
        #expect(all.filter { $0.dtype != .float16 }.count == 9 && all.filter { $0.dtype != .float16 }.allSatisfy { $0.shape.isEmpty })
        let end = all.map { $0.offset + $0.byteCount }.max() ?? 0
        #expect(end + 4 + 2 * 2 + "decoder/projection/weight".utf8.count + 1 + "decoder/embeddings/weight".utf8.count + 1 == f.storage.byteCount)
        // Half the tensors start at an odd offset: consumers must not assume aligned data.
        #expect(all.contains { $0.dtype == .float16 && $0.offset % 2 == 1 })
        let sample = f.data(conv)
        var first: Float = 0
        Kernels.f16ToF32([sample.loadUnaligned(as: UInt16.self)], &first, count: 1)
        #expect(first.isFinite && first != 0)
    }
}
