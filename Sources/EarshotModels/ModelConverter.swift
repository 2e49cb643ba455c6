import EarshotTensor
import Foundation

/// Writes a Qwen3-ASR checkpoint directory as one GGUF file that loads with zero copies.
///
/// Tensors keep Earshot's (the published) names; quantizable matrices (decoder linear layers and
/// the tied embedding/head) are stored as q8_0 or q4_1 blocks, everything else as stored (bf16
/// matrices, f32 small parameters). The small files a model needs (config.json,
/// preprocessor_config.json, generation_config.json, tokenizer files) travel as metadata strings
/// under `earshot.file.<name>`. The output is streamed: memory stays at one row batch.
public enum ModelConverter {
    public static let formatVersion: UInt32 = 1

    /// `quant` is `.q8`, `.q4`, or `.inPlace` (no quantization; f32 matrices become bf16).
    /// `quantizeEncoder`: the audio encoder's linear layers are quantized too (by default they stay
    /// bf16: they are a third of the 0.6B models' weights, read once per clip, not once per token).
    /// `progress(done, total)` counts tensors written.
    public static func convert(directory: String, to output: String, quant: WeightPrecision,
                               quantizeEncoder: Bool = false, progress: ((Int, Int) -> Void)? = nil) throws(ModelError) {
        guard quant != .float32 else { throw .invalidConfig(path: output, reason: "convert writes q8, q4 or bf16") }
        if quantizeEncoder && quant.quantFormat == nil {
            throw .invalidConfig(path: output, reason: "quantizing the encoder needs --precision q8 or q4")
        }
        let files = try ModelFiles(path: directory)
        defer { files.close() }
        guard !files.isGGUF else { throw .notAModelDirectory(path: directory, reason: "already a GGUF file") }
        guard let configBytes = try files.bytes("config.json") else {
            throw .notAModelDirectory(path: directory, reason: "config.json is missing")
        }
        let config = try Qwen3ASRConfig.decode(Data(configBytes), path: files.location("config.json"))
        let archive = try files.weights()
        defer { archive.close() }
        let table = try Qwen3ASRWeights.checkedTable(config, file: archive, path: files.location("config.json"))
        // Binding the table checks every tensor (names, shapes, types) before a byte is written.
        _ = try WeightStore(file: archive, table: table, precision: .inPlace)

        var declarations: [GGUFTensorDeclaration] = []
        for e in table.entries {
            guard case .float(let dtype) = archive.describe(e.name)!.type else {
                throw .unsupportedDType(tensor: e.name, dtype: archive.describe(e.name)!.type.description)
            }
            let cols = e.shape.dropFirst().reduce(1, *)
            let type: GGMLType
            let quantized = e.kind == .quantizable || (quantizeEncoder && e.kind == .convertible)
            if quantized, let format = quant.quantFormat, QuantFormat.canQuantize(cols: cols) {
                type = format == .q8_0 ? .q8_0 : .q4_1
            } else if e.kind != .small, dtype == .f32 {
                type = .bf16
            } else {
                type = dtype == .f32 ? .f32 : dtype == .f16 ? .f16 : .bf16
            }
            declarations.append(GGUFTensorDeclaration(name: e.name, shape: e.shape, type: type))
        }
        var metadata: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string(Qwen3ASRModel.modelType)),
            ("general.name", .string(URL(fileURLWithPath: directory).lastPathComponent)),
            ("earshot.format_version", .uint32(formatVersion)),
            ("earshot.quantization", .string(quant.quantFormat?.rawValue ?? "bf16")),
        ]
        for name in ModelFiles.embeddedNames {
            guard let bytes = try files.bytes(name) else { continue }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw .invalidConfig(path: files.location(name), reason: "not UTF-8 text")
            }
            metadata.append((ModelFiles.fileKeyPrefix + name, .string(text)))
        }
        do {
            let writer = try GGUFWriter(path: output, metadata: metadata, tensors: declarations)
            let batch = try PageBuffer(byteCount: 8 << 20, owner: .scratch)
            defer { batch.close() }
            for (i, d) in declarations.enumerated() {
                let t = try archive.stored(d.name)
                try write(t, as: d, into: writer, batch: batch)
                t.storage.releaseFilePages(t.data, count: t.byteCount)   // read once: keep RSS at one batch
                progress?(i + 1, declarations.count)
            }
            try writer.finish()
        } catch let e as ModelError {
            throw e
        } catch let e as GGUFError {
            throw .container(e)
        } catch let e as TensorError {
            throw .weights(e)
        } catch {
            throw .invalidConfig(path: output, reason: "\(error)")
        }
    }

    /// Streams one tensor: copied as stored, converted f32 -> bf16, or quantized in row batches
    /// on all kernel threads.
    private static func write(_ t: StoredTensor, as d: GGUFTensorDeclaration, into writer: GGUFWriter,
                              batch: PageBuffer) throws {
        let rows = d.shape.first ?? 1, cols = d.shape.dropFirst().reduce(1, *)
        let count = rows * cols
        switch (t.type, d.type) {
        case (.float(.f32), .bf16):
            let perBatch = batch.byteCount / 2
            var start = 0
            while start < count {
                let n = min(perBatch, count - start)
                let out = batch.raw.assumingMemoryBound(to: UInt16.self)
                Kernels.f32ToBF16(t.data.assumingMemoryBound(to: Float.self) + start, out, count: n)
                try writer.append(UnsafeRawBufferPointer(start: batch.raw, count: n * 2))
                start += n
            }
        case (.float(let dtype), .q8_0), (.float(let dtype), .q4_1):
            let format: QuantFormat = d.type == .q8_0 ? .q8_0 : .q4_1
            let rowBytes = format.byteCount(rows: 1, cols: cols)
            // Each batch: as many quantized rows as fit; one f32 row buffer per thread beside it.
            let threads = Kernels.threadCount
            let perBatch = max(1, batch.byteCount / rowBytes)
            let rowBuffers = try PageBuffer(byteCount: threads * cols * 4, owner: .scratch)
            defer { rowBuffers.close() }
            let rowScratch = rowBuffers.floats()
            var start = 0
            while start < rows {
                let n = min(perBatch, rows - start)
                Kernels.parallelRows(n, parts: threads) { part, range in
                    let row = rowScratch + part * cols
                    for r in range {
                        let src = start + r
                        switch dtype {
                        case .bf16: Kernels.bf16ToF32(t.data.assumingMemoryBound(to: UInt16.self) + src * cols, row, count: cols)
                        case .f16: Kernels.f16ToF32(t.data.assumingMemoryBound(to: UInt16.self) + src * cols, row, count: cols)
                        default: row.update(from: t.data.assumingMemoryBound(to: Float.self) + src * cols, count: cols)
                        }
                        Kernels.quantize(row, rows: 1, cols: cols, format: format, into: batch.raw + r * rowBytes)
                    }
                }
                try writer.append(UnsafeRawBufferPointer(start: batch.raw, count: n * rowBytes))
                start += n
            }
        default:
            try writer.append(UnsafeRawBufferPointer(start: t.data, count: t.byteCount))
        }
    }
}
