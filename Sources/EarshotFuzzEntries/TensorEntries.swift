@_spi(Fuzzing) import EarshotTensor

enum TensorEntries {
    static func safetensors(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        do { return .accepted("\(try TensorFileParsing.safetensors(bytes, path: "fuzz.safetensors")) tensors") } catch {
            return .rejected(error.description)
        }
    }

    static func gguf(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        do { return .accepted("\(try TensorFileParsing.gguf(bytes, path: "fuzz.gguf")) tensors") } catch {
            return .rejected(error.description)
        }
    }

    static func ctranslate2(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        do { return .accepted("\(try TensorFileParsing.ctranslate2(bytes, path: "model.bin")) variables") } catch {
            return .rejected(error.description)
        }
    }

    static func onnx(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        do { return .accepted("\(try TensorFileParsing.onnx(bytes, path: "model.onnx")) nodes") } catch {
            return .rejected(error.description)
        }
    }

    /// The index is read by `SafeTensorsArchive(directory:)`, which then maps the shards it names.
    /// Three shards lie next to it so an index can get past "file not found": `a.safetensors`
    /// holds `x`, `b.safetensors` holds `y`, `c.safetensors` holds `x` again (a duplicate).
    static func safetensorsIndex(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        let dir = shardDirectory
        ScratchDirectory.write(bytes, SafeTensorsArchive.indexFileName, in: dir)
        do {
            let archive = try SafeTensorsArchive(directory: dir)
            defer { archive.close() }
            return .accepted("\(archive.files.count) shards, \(archive.names.count) tensors")
        } catch {
            return .rejected(error.description)
        }
    }

    private static let shardDirectory: String = {
        let dir = ScratchDirectory.directory("safetensors-index")
        for (file, tensor) in [("a", "x"), ("b", "y"), ("c", "x")] {
            ScratchDirectory.write(oneTensorFile(named: tensor), "\(file).safetensors", in: dir)
        }
        return dir
    }()

    /// A valid `.safetensors` image holding one float32 scalar.
    static func oneTensorFile(named name: String) -> [UInt8] {
        var header = Array("{\"\(name)\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}".utf8)
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        let length = UInt64(header.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) } + header + [0, 0, 0x80, 0x3F]
    }
}
