import Foundation

/// The weights of a model directory: a single `model.safetensors`, or the shards listed by
/// `model.safetensors.index.json` (`{"weight_map": {"tensor": "file"}}`).
///
/// Each shard is mapped once; tensor lookups go to the shard that holds the name. A tensor found in
/// two shards, or a name the index promises but its shard lacks, is an error naming it.
public final class SafeTensorsArchive: Sendable {
    public let directory: String
    public let files: [SafeTensorsFile]
    private let location: [String: Int]   // tensor name -> index in `files`

    public static let singleFileName = "model.safetensors"
    public static let indexFileName = "model.safetensors.index.json"

    public init(directory: String) throws(TensorError) {
        self.directory = directory
        let dir = URL(fileURLWithPath: directory)
        let indexPath = dir.appendingPathComponent(Self.indexFileName).path
        let single = dir.appendingPathComponent(Self.singleFileName).path
        var shardNames: [String]
        var promised: [String: String] = [:]
        if FileManager.default.fileExists(atPath: indexPath) {
            (shardNames, promised) = try Self.readIndex(indexPath)
        } else if FileManager.default.fileExists(atPath: single) {
            shardNames = [Self.singleFileName]
        } else {
            throw .fileNotFound(path: "\(directory)/{\(Self.singleFileName),\(Self.indexFileName)}")
        }
        var files: [SafeTensorsFile] = []
        var location: [String: Int] = [:]
        for (i, shard) in shardNames.enumerated() {
            let f = try SafeTensorsFile(path: dir.appendingPathComponent(shard).path)
            files.append(f)
            for name in f.entries.keys {
                guard location[name] == nil else { throw .duplicateTensor(name: name) }
                location[name] = i
            }
        }
        for (name, shard) in promised where location[name] == nil {
            throw .missingTensor(name: "\(name) (promised in \(shard))")
        }
        self.files = files
        self.location = location
    }

    /// All tensor names, sorted.
    public var names: [String] { location.keys.sorted() }

    public func contains(_ name: String) -> Bool { location[name] != nil }

    public func tensor(_ name: String) throws(TensorError) -> SafeTensor {
        guard let i = location[name] else { throw .missingTensor(name: name) }
        return try files[i].tensor(name)
    }

    public func entry(_ name: String) -> SafeTensorsFile.Entry? {
        location[name].flatMap { files[$0].entries[name] }
    }

    /// Bytes mapped for all shards.
    public var mappedBytes: Int { files.reduce(0) { $0 + $1.storage.mappedBytes } }

    /// Unmaps every shard now.
    public func close() { files.forEach { $0.close() } }

    private static func readIndex(_ path: String) throws(TensorError) -> ([String], [String: String]) {
        let data: Data
        switch SmallFile.read(path, limit: SmallFile.configLimit) {
        case .success(let bytes): data = Data(bytes)
        case .failure(.missing): throw .fileNotFound(path: path)
        case .failure(let why): throw .malformedHeader(path: path, reason: "index cannot be read: \(why)")
        }
        // JSONDecoder, not JSONSerialization: see SafeTensorsFile.parse.
        struct Index: Decodable { let weight_map: [String: String] }
        guard let map = (try? JSONDecoder().decode(Index.self, from: data))?.weight_map else {
            throw .malformedHeader(path: path, reason: "index has no weight_map of name -> file")
        }
        for file in Set(map.values) where file.contains("/") || file.hasPrefix(".") {
            throw .malformedHeader(path: path, reason: "shard name '\(file)' must be a plain file name")
        }
        return (Array(Set(map.values)).sorted(), map)
    }
}
