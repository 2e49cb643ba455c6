import EarshotTestSupport
import Foundation
@testable import EarshotTokenizer

/// The fixture tokenizer, loaded once and shared by all tests (loading takes a while in debug).
enum SharedTokenizer {
    static let result = Result { () throws(TokenizerError) -> Qwen2Tokenizer in
        try Qwen2Tokenizer(directory: Fixtures.qwenTinyModel)
    }

    static func get() throws -> Qwen2Tokenizer { try result.get() }
}

/// One entry of `tokenizer_cases.json` (ids from HF `Qwen2TokenizerFast`).
struct TokenizerCase: Decodable, Sendable {
    let text: String
    let ids: [Int]
    let decoded: String
}

enum TokenizerCases {
    private struct File: Decodable { let cases: [TokenizerCase] }

    static func load() throws -> [TokenizerCase] {
        let data = try Data(contentsOf: Fixtures.qwenTiny.appendingPathComponent("tokenizer_cases.json"))
        return try JSONDecoder().decode(File.self, from: data).cases
    }
}

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("earshot-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// Writes `contents` (UTF-8) to `name` inside the directory and returns its URL.
    @discardableResult
    func write(_ name: String, _ contents: String) throws -> URL {
        try write(name, bytes: Array(contents.utf8))
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> URL {
        let file = url.appendingPathComponent(name)
        try Data(bytes).write(to: file)
        return file
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// Quotes `text` as a JSON string literal.
func jsonQuoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 {
                result += String(format: "\\u%04x", scalar.value)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}
