import EarshotTensor
import Foundation

/// Where a model's files come from: a published directory (config.json, safetensors, tokenizer
/// files) or one GGUF file written by `earshot convert`, which embeds the same small files as
/// metadata strings (`earshot.file.<name>`) next to its tensors.
///
/// A GGUF file stays mapped from `init` until `weights()` hands it to a `WeightStore` (which
/// closes it on unload) or `close()` is called.
public final class ModelFiles: @unchecked Sendable {
    // @unchecked: immutable after init; the GGUF mapping is read-only.
    /// The directory or GGUF path as given.
    public let path: String
    private let gguf: GGUFFile?

    /// Metadata key prefix of the embedded files.
    public static let fileKeyPrefix = "earshot.file."
    /// The small files a converted model carries.
    public static let embeddedNames = ["config.json", "preprocessor_config.json", "generation_config.json",
                                       "vocab.json", "merges.txt", "tokenizer_config.json", "tokenizer.json"]

    public init(path: String) throws(ModelError) {
        self.path = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw .notAModelDirectory(path: path, reason: "no such file or directory")
        }
        if isDir.boolValue {
            gguf = nil
            return
        }
        do { gguf = try GGUFFile(path: path) } catch { throw .container(error) }
    }

    /// Whether this is a single GGUF file.
    public var isGGUF: Bool { gguf != nil }

    /// The bytes of `name` (e.g. "config.json"), or nil when the model has no such file. A file
    /// that is not a regular file (a FIFO, `/dev/zero`) or is larger than its limit
    /// (`SmallFile`) is an error before anything is read.
    public func bytes(_ name: String) throws(ModelError) -> [UInt8]? {
        if let gguf {
            guard let text = gguf.metadata[Self.fileKeyPrefix + name]?.string else { return nil }
            return Array(text.utf8)
        }
        return try Self.read(location(name), limit: Self.limit(of: name))
    }

    /// Vocabularies and merge lists may be tens of megabytes; configs are small.
    static func limit(of name: String) -> Int {
        ["vocab.json", "merges.txt", "tokenizer.json"].contains(name) ? SmallFile.vocabularyLimit : SmallFile.configLimit
    }

    /// A small file of a model directory, nil when absent.
    static func read(_ path: String, limit: Int = SmallFile.configLimit) throws(ModelError) -> [UInt8]? {
        switch SmallFile.read(path, limit: limit) {
        case .success(let bytes): return bytes
        case .failure(.missing): return nil
        case .failure(.tooLarge(let bytes, let limit)): throw .fileTooLarge(path: path, bytes: bytes, limit: limit)
        case .failure(let why): throw .unreadableFile(path: path, reason: why.description)
        }
    }

    /// How `name` is referred to in messages.
    public func location(_ name: String) -> String {
        gguf != nil ? "\(path):\(name)" : URL(fileURLWithPath: path).appendingPathComponent(name).path
    }

    /// The tensors: the directory's safetensors (mapped now) or the GGUF file itself.
    public func weights() throws(ModelError) -> any WeightFile {
        if let gguf { return gguf }
        do { return try SafeTensorsArchive(directory: path) } catch { throw .weights(error) }
    }

    /// Unmaps a GGUF file that was not handed to a `WeightStore`.
    public func close() { gguf?.close() }
}
