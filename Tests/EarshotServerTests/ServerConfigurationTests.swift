import EarshotModels
import EarshotServer
import Foundation
import Testing

/// Settings from a file, the environment and flags; validation names the bad setting.
struct ServerConfigurationTests {
    @Test func modelSpecsNameModels() {
        #expect(ServerConfiguration.ModelSpec(parsing: "fast=/m/qwen3-asr-0.6b") == .init(name: "fast", path: "/m/qwen3-asr-0.6b"))
        #expect(ServerConfiguration.ModelSpec(parsing: "/m/qwen3-asr-0.6b") == .init(name: "qwen3-asr-0.6b", path: "/m/qwen3-asr-0.6b"))
        #expect(ServerConfiguration.ModelSpec(parsing: "/m/q8.gguf") == .init(name: "q8", path: "/m/q8.gguf"))
    }

    /// A model's own aligner (config file only): parsed, preferred over the server-wide one, and its
    /// id kept apart from the models' and bound to one path.
    @Test func modelsMayNameTheirOwnAligner() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-aligners-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("serve.json")
        let json = #"{"models": [{"name": "a", "path": "\#(dir.path)", "aligner": "al=\#(dir.path)"}, "b=\#(dir.path)"],"#
            + #" "aligner": "shared=\#(dir.path)"}"#
        try Data(json.utf8).write(to: file)
        let c = try ServerConfiguration.load(file: file.path)
        try c.validate()
        #expect(c.aligner(for: "a") == .init(name: "al", path: dir.path))
        #expect(c.aligner(for: "b") == .init(name: "shared", path: dir.path))
        #expect(c.aligners.map(\.name) == ["shared", "al"])
        var clash = c
        clash.models[1].aligner = "a=\(dir.path)"
        #expect(throws: ServerConfigurationError.invalidValue("models.b.aligner", "id 'a' is also a model's; give the aligner its own")) {
            try clash.validate()
        }
        var twoPaths = c
        twoPaths.models[1].aligner = "al=/tmp"
        #expect(throws: ServerConfigurationError.invalidValue("models.b.aligner", "aligner id 'al' names two paths (\(dir.path), /tmp)")) {
            try twoPaths.validate()
        }
    }

    @Test func fileThenEnvironmentThenValidation() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("earshot-config-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("serve.json")
        let json = #"{"models": ["a=\#(dir.path)", {"name": "b", "path": "\#(dir.path)"}], "port": 9000, "budget_mb": 512,"#
            + #" "ttl": 0, "max_concurrency": 2, "queue": 4, "api_key": "k", "timeout": 1.5, "quant": "q8"}"#
        try Data(json.utf8).write(to: file)
        var c = try ServerConfiguration.load(file: file.path)
        #expect(c.models.map(\.name) == ["a", "b"] && c.port == 9000 && c.budgetMB == 512 && c.ttlSeconds == 0)
        #expect(c.maxConcurrency == 2 && c.queueLimit == 4 && c.apiKey == "k" && c.timeoutSeconds == 1.5)
        #expect(c.precision == .q8)
        try c.validate()
        try c.apply(environment: ["EARSHOT_PORT": "9100", "EARSHOT_MODELS": "c=\(dir.path)", "EARSHOT_API_KEY": ""])
        #expect(c.port == 9100 && c.models.map(\.name) == ["c"] && c.apiKey == nil)
        #expect(throws: ServerConfigurationError.invalidValue("EARSHOT_PORT", "eighty")) {
            try c.apply(environment: ["EARSHOT_PORT": "eighty"])
        }
        #expect(throws: ServerConfigurationError.self) { try ServerConfiguration.load(file: dir.appendingPathComponent("none.json").path) }
        try Data(#"{"port": "high"}"#.utf8).write(to: file)
        #expect(throws: ServerConfigurationError.self) { try ServerConfiguration.load(file: file.path) }

        var bad = c
        bad.models = [.init(name: "x", path: "/no/such/model")]
        #expect(throws: ServerConfigurationError.invalidValue("models", "x: no such file or directory: /no/such/model")) { try bad.validate() }
        bad = c
        bad.models += bad.models
        #expect(throws: ServerConfigurationError.self) { try bad.validate() }
        // Precision: one set of names (and aliases) for the file's `precision`/`quant` and the environment.
        bad = c
        #expect(throws: ServerConfigurationError.invalidValue("EARSHOT_PRECISION", "q3 (expected \(WeightPrecision.names))")) {
            try bad.apply(environment: ["EARSHOT_PRECISION": "q3"])
        }
        try bad.apply(environment: ["EARSHOT_QUANT": "bf16"])
        #expect(bad.precision == .inPlace)
        try bad.apply(environment: ["EARSHOT_PRECISION": "Q4"])
        #expect(bad.precision == .q4)
        try Data(#"{"precision": "f32"}"#.utf8).write(to: file)
        #expect(try ServerConfiguration.load(file: file.path).precision == .float32)
        try Data(#"{"precision": "q3"}"#.utf8).write(to: file)
        #expect(throws: ServerConfigurationError.self) { try ServerConfiguration.load(file: file.path) }
        bad = c
        bad.maxConcurrency = 0
        #expect(throws: ServerConfigurationError.self) { try bad.validate() }
    }
}
