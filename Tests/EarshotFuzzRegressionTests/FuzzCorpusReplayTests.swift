import EarshotFuzzEntries
import EarshotTestSupport
import Foundation
import Testing

/// Replays the fuzz corpora through the same entries the libFuzzer binary runs (`scripts/fuzz`):
/// the committed seeds (`fuzz/corpus/<target>/`) and every input a fuzzer once crashed on
/// (`Tests/Fixtures/fuzz-regressions/<target>/`). A crash, trap or sanitizer report in a parser
/// fails the run here, without libFuzzer. Serialized: a target's entry reuses its scratch files.
@Suite(.serialized) struct FuzzCorpusReplayTests {
    static let seedRoot = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz/corpus")
    static let regressionRoot = Fixtures.root.appendingPathComponent("fuzz-regressions")

    /// Regular, non-hidden files of `directory`, sorted (none when it does not exist).
    static func files(in directory: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    static func replay(_ target: FuzzTarget, _ file: URL) throws -> FuzzOutcome {
        try Data(contentsOf: file).withUnsafeBytes { target.run($0) }
    }

    /// Every seed runs; a rejection carries a message; and at least one seed parses, so the
    /// fuzzer starts from inputs that reach past the first check (an entry that refused
    /// everything, e.g. a broken scratch directory, would fuzz nothing but error paths).
    @Test(arguments: FuzzTargets.all.map(\.name))
    func seedsReplayAndOneParses(target name: String) throws {
        let target = try #require(FuzzTargets.named(name))
        let seeds = Self.files(in: Self.seedRoot.appendingPathComponent(name))
        #expect(!seeds.isEmpty, "fuzz/corpus/\(name) has no seeds")
        var accepted: [String] = []
        for seed in seeds {
            switch try Self.replay(target, seed) {
            case .accepted: accepted.append(seed.lastPathComponent)
            case .rejected(let message): #expect(!message.isEmpty, "\(name)/\(seed.lastPathComponent): empty message")
            }
        }
        #expect(!accepted.isEmpty, "no seed of \(name) parses")
    }

    /// Every regression input runs to an outcome (after its fix, a crash input is either refused
    /// with a typed error or, when it was valid, parsed).
    @Test(arguments: FuzzTargets.all.map(\.name))
    func regressionsReplay(target name: String) throws {
        let target = try #require(FuzzTargets.named(name))
        for file in Self.files(in: Self.regressionRoot.appendingPathComponent(name)) {
            if case .rejected(let message) = try Self.replay(target, file) {
                #expect(!message.isEmpty, "\(name)/\(file.lastPathComponent): empty message")
            }
        }
    }

    /// A corpus directory whose name is not a target would never be replayed (or fuzzed).
    @Test func corpusDirectoriesNameTargets() {
        let known = Set(FuzzTargets.all.map(\.name))
        for root in [Self.seedRoot, Self.regressionRoot] {
            for directory in Self.files(in: root) {
                #expect(known.contains(directory.lastPathComponent), "\(directory.path) is not a fuzz target")
            }
        }
        #expect(Set(Self.files(in: Self.seedRoot).map(\.lastPathComponent)) == known, "every target has a seed directory")
    }

    /// The committed seeds stay small (libFuzzer works best from small inputs; the repository too).
    @Test func seedCorpusIsSmall() throws {
        var total = 0
        for directory in Self.files(in: Self.seedRoot) {
            for file in Self.files(in: directory) {
                let size = try #require(try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int)
                #expect(size <= 64 * 1024, "\(file.path) is \(size) bytes")
                total += size
            }
        }
        #expect(total <= 2 << 20, "seed corpus is \(total) bytes")
    }

    /// The fixed tokenizer files the one-file tokenizer targets pair their input with load.
    @Test func smallTokenizerFilesLoad() {
        let vocab = SmallTokenizerFiles.vocab, merges = SmallTokenizerFiles.merges, config = SmallTokenizerFiles.config
        for (name, bytes) in [("tokenizer-vocab", vocab), ("tokenizer-merges", merges), ("tokenizer-config", config),
                              ("tokenizer-json", SmallTokenizerFiles.tokenizerJSON)] {
            let outcome = bytes.withUnsafeBytes { FuzzTargets.named(name)!.run($0) }
            #expect(outcome.isAccepted, "\(name): \(outcome)")
        }
    }
}
