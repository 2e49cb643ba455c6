import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotTensor

struct SafeTensorsTests {
    let dir: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID())")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }()

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A raw file: 8-byte header length, header text, then `data`.
    func rawFile(_ name: String, header: String, data: [UInt8] = [], claimedLength: UInt64? = nil) throws -> String {
        var bytes = Data()
        var header = header
        while header.utf8.count % 8 != 0 && !header.isEmpty { header += " " }
        var n = (claimedLength ?? UInt64(header.utf8.count)).littleEndian
        bytes.append(Data(bytes: &n, count: 8))
        bytes.append(header.data(using: .utf8)!)
        bytes.append(contentsOf: data)
        try bytes.write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    @Test func roundTripAllFloatTypes() throws {
        var r = SeededRandom(seed: 7)
        let a = r.floats(33 * 5)
        for dtype in [DType.f32, .bf16, .f16] {
            let p = path("rt-\(dtype.rawValue).safetensors")
            try SafeTensorsWriter.write(path: p, floats: [("a", [33, 5], a), ("b", [3], [1, -2, 0.5])],
                                        dtype: dtype, metadata: ["format": "pt"])
            let f = try SafeTensorsFile(path: p)
            #expect(f.names == ["a", "b"])
            #expect(f.metadata["format"] == "pt")
            let t = try f.tensor("a")
            #expect(t.shape == [33, 5] && t.dtype == dtype)
            let tol: Float = dtype == .f32 ? 0 : (dtype == .bf16 ? 1.0 / 128 : 1.0 / 1024)
            for (x, y) in zip(t.floatArray(), a) { #expect(abs(x - y) <= tol * max(1, abs(y))) }
            #expect(try f.tensor("b").floatArray() == [1, -2, 0.5])
            #expect(Int(bitPattern: t.data) % dtype.size == 0)
        }
    }

    @Test func readsGoldenFromTheOfficialImplementation() throws {
        let f = try SafeTensorsFile(path: Fixtures.qwenTinyGolden("fox").path)
        let mel = try f.tensor("mel")
        #expect(mel.shape == [128, 445] && mel.dtype == .f32)
        let ids = try f.tensor("prompt_ids")
        #expect(ids.dtype == .i64 && ids.intArray().count == 73)
        #expect(ids.intArray().prefix(3) == [151644, 8948, 198])
    }

    @Test func hostileHeaderLengthIsRefusedWithoutAllocating() throws {
        let p = try rawFile("huge.safetensors", header: "{}", claimedLength: 100 << 30)
        #expect(throws: TensorError.headerTooLarge(path: p, bytes: 100 << 30, limit: SafeTensorsFile.maxHeaderBytes)) {
            _ = try SafeTensorsFile(path: p)
        }
    }

    @Test func badFilesGiveTypedErrorsNamingTheTensor() throws {
        func expectError(_ name: String, _ header: String, data: [UInt8] = [], claimed: UInt64? = nil,
                         _ check: (TensorError) -> Bool) throws {
            let p = try rawFile(name, header: header, data: data, claimedLength: claimed)
            do {
                _ = try SafeTensorsFile(path: p)
                Issue.record("\(name) was accepted")
            } catch {
                #expect(check(error), "\(name): \(error)")
                #expect(error.description.contains(p))
            }
        }
        let d8 = [UInt8](repeating: 0, count: 8)
        try expectError("short", "", claimed: 0) { if case .malformedHeader = $0 { true } else { false } }
        try expectError("truncated", "{}", claimed: 500) { if case .truncated = $0 { true } else { false } }
        try expectError("notjson", "{\"a\": [", data: d8) { if case .malformedHeader = $0 { true } else { false } }
        try expectError("array", "[1,2]", data: d8) { if case .malformedHeader = $0 { true } else { false } }
        try expectError("dtype", #"{"w":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}}"#, data: d8) {
            $0 == .unknownDType(path: path("dtype"), tensor: "w", dtype: "Q9")
        }
        try expectError("outside", #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: d8) {
            if case .badOffsets(_, "w", _) = $0 { true } else { false }
        }
        try expectError("size", #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: d8) {
            $0 == .sizeMismatch(path: path("size"), tensor: "w", expectedBytes: 12, actualBytes: 8)
        }
        try expectError("overlap", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: d8) {
            if case .overlap = $0 { true } else { false }
        }
        try expectError("negative", #"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: d8) {
            if case .malformedHeader = $0 { true } else { false }
        }
        try expectError("overflow", #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: d8) {
            if case .malformedHeader = $0 { true } else { false }
        }
        try expectError("misaligned", #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}}"#, data: d8) {
            if case .badOffsets(_, "w", _) = $0 { true } else { false }
        }
    }

    @Test func shardedArchiveResolvesEveryTensor() throws {
        let shardDir = dir.appendingPathComponent("sharded")
        try FileManager.default.createDirectory(at: shardDir, withIntermediateDirectories: true)
        try SafeTensorsWriter.write(path: shardDir.appendingPathComponent("model-00001-of-00002.safetensors").path,
                                    floats: [("x", [2], [1, 2])])
        try SafeTensorsWriter.write(path: shardDir.appendingPathComponent("model-00002-of-00002.safetensors").path,
                                    floats: [("y", [1], [3])])
        let index = #"{"metadata":{},"weight_map":{"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}}"#
        try index.write(to: shardDir.appendingPathComponent("model.safetensors.index.json"), atomically: true, encoding: .utf8)
        let archive = try SafeTensorsArchive(directory: shardDir.path)
        #expect(archive.names == ["x", "y"])
        #expect(try archive.tensor("y").floatArray() == [3])
        #expect(throws: TensorError.missingTensor(name: "z")) { _ = try archive.tensor("z") }

        let bad = #"{"weight_map":{"x":"model-00001-of-00002.safetensors","z":"model-00002-of-00002.safetensors"}}"#
        try bad.write(to: shardDir.appendingPathComponent("model.safetensors.index.json"), atomically: true, encoding: .utf8)
        #expect(throws: TensorError.self) { _ = try SafeTensorsArchive(directory: shardDir.path) }
    }
}
