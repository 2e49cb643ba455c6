import EarshotTestSupport
import Foundation
import Testing
@testable import EarshotTokenizer

/// Loading the same vocabulary from a HF `tokenizer.json`.
struct TokenizerJSONTests {
    /// Writes a tokenizer.json built from the fixture's vocab.json, merges.txt and
    /// tokenizer_config.json. Even merges use the "a b" form, odd ones the ["a", "b"] form.
    static func writeTokenizerJSON(into directory: TemporaryDirectory) throws -> URL {
        let model = Fixtures.qwenTinyModel
        let vocab = try String(contentsOf: model.appendingPathComponent("vocab.json"), encoding: .utf8)
        let mergeLines = try String(contentsOf: model.appendingPathComponent("merges.txt"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: true)
            .dropFirst()  // #version
        var merges: [String] = []
        for (index, line) in mergeLines.enumerated() {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            if index % 2 == 0 {
                merges.append(jsonQuoted(String(line)))
            } else {
                merges.append("[\(jsonQuoted(String(parts[0]))), \(jsonQuoted(String(parts[1])))]")
            }
        }
        let configData = try Data(contentsOf: model.appendingPathComponent("tokenizer_config.json"))
        let config = try #require(try JSONSerialization.jsonObject(with: configData) as? [String: Any])
        let decoder = try #require(config["added_tokens_decoder"] as? [String: [String: Any]])
        var added: [String] = []
        for (key, entry) in decoder.sorted(by: { Int($0.key)! < Int($1.key)! }) {
            let content = try #require(entry["content"] as? String)
            let special = try #require(entry["special"] as? Bool)
            added.append("{\"id\": \(key), \"content\": \(jsonQuoted(content)), \"special\": \(special)}")
        }
        let json = """
            {"version": "1.0", "added_tokens": [\(added.joined(separator: ",\n"))],
             "model": {"type": "BPE", "vocab": \(vocab),
                       "merges": [\(merges.joined(separator: ",\n"))]}}
            """
        return try directory.write("tokenizer.json", json)
    }

    @Test func tokenizerJSONGivesTheSameIDs() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let url = try Self.writeTokenizerJSON(into: directory)
        let fromJSON = try Qwen2Tokenizer(tokenizerJSON: url)
        let fromDirectory = try Qwen2Tokenizer(directory: directory.url)  // falls back to tokenizer.json
        let reference = try SharedTokenizer.get()
        #expect(fromJSON.vocabularySize == reference.vocabularySize)
        #expect(fromJSON.specialIDs == reference.specialIDs)
        for item in try TokenizerCases.load() {
            #expect(fromJSON.encode(item.text) == item.ids, "encode \(item.text.debugDescription)")
            #expect(fromDirectory.encode(item.text) == item.ids)
            #expect(fromJSON.decode(item.ids) == item.decoded)
        }
    }

    @Test func explicitFileInitialiserWithoutConfigHasNoAddedTokens() throws {
        let model = Fixtures.qwenTinyModel
        let tokenizer = try Qwen2Tokenizer(
            vocabURL: model.appendingPathComponent("vocab.json"),
            mergesURL: model.appendingPathComponent("merges.txt"),
            configURL: nil)
        #expect(tokenizer.vocabularySize == 151_643)
        #expect(tokenizer.specialIDs.isEmpty)
        #expect(tokenizer.encode("Hello world") == [9707, 1879])
        #expect(tokenizer.encode("<|im_end|>").count > 1)
    }
}
