import Foundation
import Testing
@testable import EarshotTokenizer

/// Every loading failure is a typed error naming the file and line.
struct BadInputTests {
    static let goodVocab = #"{"a": 0, "b": 1, "ab": 2}"#
    static let goodMerges = "#version: 0.2\na b\n"

    /// Loads vocab.json/merges.txt (and tokenizer_config.json if given) from a temp dir.
    func load(vocab: [UInt8], merges: [UInt8], config: String? = nil) throws -> (TokenizerError?, URL) {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("vocab.json", bytes: vocab)
        try directory.write("merges.txt", bytes: merges)
        if let config { try directory.write("tokenizer_config.json", config) }
        do {
            _ = try Qwen2Tokenizer(directory: directory.url)
            return (nil, directory.url)
        } catch {
            return (error, directory.url)
        }
    }

    func load(vocab: String = goodVocab, merges: String = goodMerges, config: String? = nil)
        throws -> (TokenizerError?, URL) {
        try load(vocab: Array(vocab.utf8), merges: Array(merges.utf8), config: config)
    }

    @Test func goodFilesLoad() throws {
        let (error, _) = try load()
        #expect(error == nil)
    }

    @Test func missingFile() throws {
        let url = URL(fileURLWithPath: "/nonexistent-earshot/vocab.json")
        #expect(throws: TokenizerError.missingFile(path: url.path)) {
            try Qwen2Tokenizer(vocabURL: url, mergesURL: url, configURL: nil)
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: TokenizerError.noTokenizerFiles(directory: directory.url.path)) {
            try Qwen2Tokenizer(directory: directory.url)
        }
    }

    @Test func malformedJSON() throws {
        let (error, dir) = try load(vocab: "{\"a\": 0,\n\"b\": }")
        guard case .malformedJSON(let path, let line, _) = error else {
            Issue.record("expected malformedJSON, got \(String(describing: error))")
            return
        }
        #expect(path == dir.appendingPathComponent("vocab.json").path)
        #expect(line == 2)
        #expect(error?.description.contains("vocab.json:2:") == true)
        for bad in ["", "{", "[1, 2", "{\"a\": 0} x", "{\"a\": tru}", "{\"a\": \"\\q\"}", "{\"a\": 01x}"] {
            let (error, _) = try load(vocab: bad)
            if case .malformedJSON = error {} else { Issue.record("\(bad.debugDescription): \(String(describing: error))") }
        }
        let deep = String(repeating: "[", count: 10_000)
        let (deepError, _) = try load(vocab: deep)
        if case .malformedJSON = deepError {} else { Issue.record("deep nesting: \(String(describing: deepError))") }
    }

    @Test func vocabularyOfTheWrongShape() throws {
        let (error, _) = try load(vocab: "[1, 2]")
        if case .unexpectedJSON(_, 1, _) = error {} else { Issue.record("got \(String(describing: error))") }
        let (stringID, _) = try load(vocab: #"{"a": "zero"}"#)
        if case .unexpectedJSON = stringID {} else { Issue.record("got \(String(describing: stringID))") }
        let (negative, _) = try load(vocab: "{\"a\": 0,\n\"b\": -3}")
        if case .invalidID(_, 2, "-3.0") = negative {} else { Issue.record("got \(String(describing: negative))") }
        // Tables are indexed by id: a huge id must be an error, not a huge allocation.
        let (huge, _) = try load(vocab: #"{"a": 2147483647}"#)
        if case .invalidID(_, 1, _) = huge {} else { Issue.record("got \(String(describing: huge))") }
    }

    @Test func malformedMergeLine() throws {
        let (error, dir) = try load(merges: "#version: 0.2\na b\nab\n")
        #expect(error == .malformedMerge(path: dir.appendingPathComponent("merges.txt").path, line: 3, text: "ab"))
        let (twoSpaces, _) = try load(merges: "a  b\n")
        if case .malformedMerge(_, 1, "a  b") = twoSpaces {} else { Issue.record("got \(String(describing: twoSpaces))") }
    }

    @Test func mergeOfAnUnknownToken() throws {
        let (error, dir) = try load(merges: "#version: 0.2\na b\na z\n")
        let path = dir.appendingPathComponent("merges.txt").path
        #expect(error == .unknownMergeToken(path: path, line: 3, token: "z"))
        let (missingResult, dir2) = try load(merges: "b a\n")
        let path2 = dir2.appendingPathComponent("merges.txt").path
        #expect(missingResult == .unknownMergeToken(path: path2, line: 1, token: "ba"))
    }

    @Test func duplicateIDs() throws {
        let (error, dir) = try load(vocab: "{\"a\": 0,\n \"b\": 1,\n \"ab\": 1}")
        #expect(error == .duplicateID(path: dir.appendingPathComponent("vocab.json").path,
                                      line: 3, id: 1, first: "b", second: "ab"))
        let config = #"{"added_tokens_decoder": {"2": {"content": "<x>", "special": true}}}"#
        let (added, _) = try load(config: config)
        if case .duplicateID(_, 1, 2, "ab", "<x>") = added {} else { Issue.record("got \(String(describing: added))") }
    }

    @Test func invalidUTF8() throws {
        let vocab: [UInt8] = Array("{\"a\": 0,\n\"b\": 1,\n\"".utf8) + [0xFF, 0xFE] + Array("\": 2}".utf8)
        let (error, dir) = try load(vocab: vocab, merges: Array(Self.goodMerges.utf8))
        #expect(error == .invalidUTF8(path: dir.appendingPathComponent("vocab.json").path, line: 3))
        let merges: [UInt8] = Array("#version: 0.2\na b\n".utf8) + [0x61, 0x20, 0xC3] + [0x0A]
        let (mergeError, dir2) = try load(vocab: Array(Self.goodVocab.utf8), merges: merges)
        #expect(mergeError == .invalidUTF8(path: dir2.appendingPathComponent("merges.txt").path, line: 3))
    }

    @Test func badAddedTokens() throws {
        let (badID, _) = try load(config: #"{"added_tokens_decoder": {"x": {"content": "<x>"}}}"#)
        if case .invalidID(_, 1, "x") = badID {} else { Issue.record("got \(String(describing: badID))") }
        let (noContent, _) = try load(config: #"{"added_tokens_decoder": {"5": {"special": true}}}"#)
        if case .unexpectedJSON = noContent {} else { Issue.record("got \(String(describing: noContent))") }
    }

    @Test func badTokenizerJSON() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let cases: [(String, (TokenizerError) -> Bool)] = [
            (#"{"version": "1.0"}"#, { if case .unexpectedJSON = $0 { true } else { false } }),
            (#"{"model": {"type": "WordPiece", "vocab": {}, "merges": []}}"#,
             { if case .unexpectedJSON = $0 { true } else { false } }),
            ("{\"model\": {\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2},\n \"merges\": [\"a b\",\n [1, 2]]}}",
             { if case .malformedMerge(_, 3, _) = $0 { true } else { false } }),
            (#"{"model": {"vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]}}"#,
             { $0 == .unknownMergeToken(path: directory.url.appendingPathComponent("tokenizer.json").path,
                                         line: 1, token: "ab") }),
            (#"{"model": {"vocab": {"a": 0}, "merges": []}, "added_tokens": [{"id": -1, "content": "x"}]}"#,
             { if case .invalidID = $0 { true } else { false } }),
        ]
        for (json, check) in cases {
            let url = try directory.write("tokenizer.json", json)
            do {
                _ = try Qwen2Tokenizer(tokenizerJSON: url)
                Issue.record("\(json) loaded")
            } catch {
                #expect(check(error), "\(json): \(error)")
            }
        }
    }
}
