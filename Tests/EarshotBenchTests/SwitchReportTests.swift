import EarshotAudio
import EarshotRuntime
import Testing
@testable import EarshotBench

/// The `earshot bench switch` analysis: WER and the summary here, the table / CSV / JSON / SVG
/// renderers in `SwitchReportRenderingTests.swift`.
@Suite struct SwitchReportTests {}

// MARK: - Fixtures

/// Synthetic runs with known numbers (shared with `SwitchReportRenderingTests.swift`).
enum SwitchFixtures {
    static let MB = 1_048_576

    /// A snapshot with RSS and anonymous RSS in whole MB (file = rss - anon).
    static func report(rss: Int, anon: Int, fds: Int = 10, mallocMB: Int = 0, peak: Int? = nil) -> MemoryReport {
        var r = MemoryReport()
        r.rssBytes = rss * MB
        r.rssAnonBytes = anon * MB
        r.rssFileBytes = (rss - anon) * MB
        r.pssBytes = rss * MB
        r.peakRSSBytes = (peak ?? rss) * MB
        r.openFileDescriptors = fds
        r.mallocInUseBytes = mallocMB * MB
        return r
    }

    /// `count` switches alternating "A" (loads 500 MB) and "B" (loads 1000 MB); transcribing adds
    /// 50 MB; after unload RSS and anonymous RSS sit `leakMB * (i + 1)` above a 100 / 40 MB baseline.
    static func steps(_ count: Int, leakMB: Int = 0, anonLeakMB: Int? = nil,
                      wer: (Int) -> Double? = { _ in nil }) -> [SwitchStep] {
        let anonLeak = anonLeakMB ?? leakMB
        return (0..<count).map { i in
            let load = i % 2 == 0 ? 500 : 1000
            let base = 100 + leakMB * i, anonBase = 40 + anonLeak * i
            return SwitchStep(
                iteration: i, model: i % 2 == 0 ? "A" : "B",
                beforeLoad: report(rss: base, anon: anonBase, fds: 10 + i, mallocMB: 5 + i),
                afterLoad: report(rss: base + load, anon: anonBase + 20, fds: 12 + i),
                afterTranscribe: report(rss: base + load + 50, anon: anonBase + 70, fds: 12 + i, peak: base + load + 60),
                afterUnload: report(rss: base + leakMB, anon: anonBase + anonLeak, fds: 11 + i, mallocMB: 6 + i),
                loadMs: i % 2 == 0 ? 100 : 300, ttftMs: Double(10 + i), transcribeMs: 50, unloadMs: 5,
                text: "text \(i)", wer: wer(i))
        }
    }
}

// MARK: - Word error rate

extension SwitchReportTests {
    @Suite struct WordErrorRateTests {
        typealias W = WordErrorRate

        @Test func substitutionDeletionInsertion() {
            let c = W.counts(reference: "the cat sat on the mat", hypothesis: "the cat sit on mat")
            #expect(c == .init(substitutions: 1, deletions: 1, insertions: 0, referenceWords: 6))
            #expect(W.compute(reference: "the cat sat on the mat", hypothesis: "the cat sit on mat") == 2.0 / 6)
            #expect(W.counts(reference: "hello world", hypothesis: "hello big world")
                == .init(substitutions: 0, deletions: 0, insertions: 1, referenceWords: 2))
            #expect(W.compute(reference: "same words here", hypothesis: "same words here") == 0)
        }

        @Test func longerHypothesisKeepsInsertionsAndDeletionsApart() {
            // Exercises the transposed DP (the hypothesis is the longer sequence).
            #expect(W.counts(reference: "a b c", hypothesis: "x b c d e")
                == .init(substitutions: 1, deletions: 0, insertions: 2, referenceWords: 3))
            #expect(W.counts(reference: "a", hypothesis: "a b c d")
                == .init(substitutions: 0, deletions: 0, insertions: 3, referenceWords: 1))
            #expect(W.compute(reference: "a", hypothesis: "a b c d") == 3)
            #expect(W.counts(reference: "a b c d", hypothesis: "d")
                == .init(substitutions: 0, deletions: 3, insertions: 0, referenceWords: 4))
            #expect(W.compute(reference: "a b c", hypothesis: "") == 1)
        }

        @Test func normalisationIgnoresCasePunctuationAndSpacing() {
            #expect(W.compute(reference: "Hello, World!", hypothesis: "  hello\n\tworld ") == 0)
            #expect(W.compute(reference: "Don't stop.", hypothesis: "don’t STOP") == 0)
            #expect(W.words("'Quoted' rock'n'roll — well-known $5 ÉCOLE") == ["quoted", "rock'n'roll", "well", "known", "5", "école"])
            #expect(W.compute(reference: "It's 5 o'clock", hypothesis: "its 5 oclock") == 2.0 / 3)
        }

        @Test func spacelessScriptsCountCharacters() {
            #expect(W.words("我爱北京。") == ["我", "爱", "北", "京"])
            #expect(W.compute(reference: "今天天气很好。", hypothesis: "今天天气不好") == 1.0 / 6)
            #expect(W.compute(reference: "我爱北京天安门", hypothesis: "我爱北京天安") == 1.0 / 7)
            #expect(W.words("東京タワーへ") == ["東", "京", "タ", "ワ", "ー", "へ"])
            // Thai vowel marks stay with their consonant: ส วั ส ดี.
            #expect(W.words("สวัสดี") == ["ส", "วั", "ส", "ดี"])
            #expect(W.words("I love 北京 today") == ["i", "love", "北", "京", "today"])
            // Korean is written with spaces: words, not syllables.
            #expect(W.words("안녕하세요 여러분") == ["안녕하세요", "여러분"])
        }

        @Test func emptyReference() {
            #expect(W.compute(reference: "", hypothesis: "") == 0)
            #expect(W.compute(reference: " ... ", hypothesis: "") == 0)
            #expect(W.compute(reference: "", hypothesis: "anything") == 1)
            #expect(W.counts(reference: "", hypothesis: "two words").insertions == 2)
        }

        @Test func totalMatchesAFullMatrixLevenshtein() {
            var seed: UInt64 = 42
            func next(_ n: Int) -> Int {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                return Int((seed >> 33) % UInt64(n))
            }
            for _ in 0..<200 {
                let a = (0..<next(12)).map { _ in "w\(next(4))" }, b = (0..<next(12)).map { _ in "w\(next(4))" }
                var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
                for i in 0...a.count { d[i][0] = i }
                for j in 0...b.count { d[0][j] = j }
                for i in stride(from: 1, through: a.count, by: 1) {
                    for j in stride(from: 1, through: b.count, by: 1) {
                        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                    }
                }
                let c = W.counts(reference: a.joined(separator: " "), hypothesis: b.joined(separator: " "))
                #expect(c.errors == d[a.count][b.count])
                // Every reference word is matched, substituted or deleted; every hypothesis word
                // matched, substituted or inserted: so the counts must agree on the matches.
                #expect(a.count - c.substitutions - c.deletions == b.count - c.substitutions - c.insertions)
            }
        }
    }
}

// MARK: - Summary

extension SwitchReportTests {
    @Suite struct SummaryTests {
        @Test func linearLeakOfOneMBPerSwitch() {
            let s = SwitchSummary(steps: SwitchFixtures.steps(10, leakMB: 1))
            #expect(s.switches == 10 && s.warmUpSwitches == 2 && s.switchesAfterWarmUp == 8)
            #expect(abs(s.rssSlopeAfterWarmUpMB - 1) < 1e-9)
            #expect(abs(s.rssAnonSlopeAfterWarmUpMB - 1) < 1e-9)
            #expect(s.rssInitialMB == 100 && s.rssFinalMB == 110)
            #expect(s.totalGrowthMB == 10 && s.growthPerSwitchMB == 1)
            // After the 2nd switch's unload RSS is 102; after the last, 110.
            #expect(s.growthAfterWarmUpMB == 8)
            #expect(s.rssAnonInitialMB == 40 && s.rssAnonFinalMB == 50)
            #expect(!s.passes(maxSlopeMB: 0.05))
            #expect(s.passes(maxSlopeMB: 1.0))
        }

        @Test func flatRunPasses() {
            let s = SwitchSummary(steps: SwitchFixtures.steps(10))
            #expect(s.rssSlopeAfterWarmUpMB == 0 && s.rssAnonSlopeAfterWarmUpMB == 0)
            #expect(s.totalGrowthMB == 0 && s.growthAfterWarmUpMB == 0)
            #expect(s.passes(maxSlopeMB: 0.05))
        }

        @Test func anonymousLeakFailsEvenWithFlatRSS() {
            let s = SwitchSummary(steps: SwitchFixtures.steps(10, leakMB: 0, anonLeakMB: 2))
            #expect(s.rssSlopeAfterWarmUpMB == 0)
            #expect(abs(s.rssAnonSlopeAfterWarmUpMB - 2) < 1e-9)
            #expect(!s.passes(maxSlopeMB: 0.05))
        }

        @Test func perModelAveragesInFirstAppearanceOrder() {
            let s = SwitchSummary(steps: SwitchFixtures.steps(6, leakMB: 1, wer: { $0 % 2 == 0 ? [0.1, 0.2, 0.6][$0 / 2] : nil }))
            #expect(s.models.map(\.model) == ["A", "B"])
            let a = s.models[0], b = s.models[1]
            #expect(a.switches == 3 && b.switches == 3)
            #expect(a.avgLoadOverheadMB == 500 && b.avgLoadOverheadMB == 1000)
            // Transcribed level (base + load + 50) minus after-unload level (base + 1).
            #expect(a.avgUnloadReleaseMB == 549 && b.avgUnloadReleaseMB == 1049)
            #expect(a.avgNetGrowthMB == 1 && b.avgNetGrowthMB == 1)
            #expect(a.avgTTFTMs == 12 && b.avgTTFTMs == 13)  // (10+12+14)/3, (11+13+15)/3
            #expect(a.avgLoadMs == 100 && b.avgLoadMs == 300)
            #expect(abs(a.avgWERPercent! - 30) < 1e-9)
            #expect(b.avgWERPercent == nil)
        }

        @Test func peakDescriptorsAndMalloc() {
            let s = SwitchSummary(steps: SwitchFixtures.steps(4, leakMB: 1))
            #expect(s.rssPeakMB == 100 + 3 + 1000 + 60)  // the last B switch's transcribe peak
            #expect(s.openFileDescriptorsStart == 10 && s.openFileDescriptorsEnd == 14)
            #expect(s.mallocInUseStartMB == 5 && s.mallocInUseEndMB == 9)
        }

        @Test func tooFewSwitchesProveNothing() {
            #expect(!SwitchSummary(steps: SwitchFixtures.steps(1)).passes(maxSlopeMB: 1))
            #expect(!SwitchSummary(steps: []).passes(maxSlopeMB: 1))
            let empty = SwitchSummary(steps: [])
            #expect(empty.models.isEmpty && empty.totalGrowthMB == 0 && empty.growthPerSwitchMB == 0)
            // No warm-up switch: growth after warm-up counts from before the first load.
            let two = SwitchSummary(steps: SwitchFixtures.steps(2, leakMB: 3), warmUpFraction: 0.2)
            #expect(two.warmUpSwitches == 0 && two.growthAfterWarmUpMB == 6 && two.passes(maxSlopeMB: 3))
            // Out-of-range fractions are clamped rather than indexing outside the run.
            #expect(SwitchSummary(steps: SwitchFixtures.steps(5), warmUpFraction: 3).warmUpSwitches == 5)
            #expect(SwitchSummary(steps: SwitchFixtures.steps(5), warmUpFraction: -1).warmUpSwitches == 0)
            #expect(SwitchSummary(steps: SwitchFixtures.steps(5), warmUpFraction: .nan).warmUpSwitches == 0)
        }
    }
}

// MARK: - Runs over a speech set

extension SwitchReportTests {
    @Suite struct SpeechSetRunTests {
        /// Six switches of A / B over clips "x" (2 words) and "y" (4 words): A hears x, y, x; B likewise.
        static func steps() -> [SwitchStep] {
            var steps = SwitchFixtures.steps(6)
            let errors = [0, 1, 0, 0, 0, 2]   // A: x 0, y 0, x 0; B: x 1, y 0, x 2
            for i in steps.indices {
                let clip = (i / 2) % 2 == 0 ? "x" : "y"
                let words = clip == "x" ? 2 : 4
                steps[i].audio = clip
                steps[i].wordErrors = .init(substitutions: errors[i], deletions: 0, insertions: 0, referenceWords: words)
                steps[i].wer = Double(errors[i]) / Double(words)
                // B's two transcripts of x differ (1 error, then 2): one clip with varying text.
                steps[i].text = "\(clip) \(errors[i])"
            }
            return steps
        }

        @Test func werOverTheRunIsSummedPerModel() {
            let s = SwitchSummary(steps: Self.steps())
            let a = s.models[0], b = s.models[1]
            #expect(a.werPercent == 0 && b.werPercent == 100 * 3.0 / 8)
            // The per-switch mean differs: (1/2 + 0 + 2/2) / 3 = 50%.
            #expect(abs(b.avgWERPercent! - 50) < 1e-9)
            #expect(a.varyingTranscripts == 0 && b.varyingTranscripts == 1)
            let table = SwitchReport.table(s)
            #expect(table.contains("| WER over the run (%)") && table.contains(" 37.50 |"))
            #expect(table.contains("| Clips with varying transcripts"))
        }

        @Test func oneClipRunsKeepTheirTable() {
            let s = SwitchSummary(steps: SwitchFixtures.steps(4, wer: { _ in 0.5 }))
            #expect(s.models.allSatisfy { $0.werPercent == nil && $0.varyingTranscripts == nil })
            let table = SwitchReport.table(s)
            #expect(!table.contains("WER over the run") && !table.contains("varying"))
        }

        @Test func csvAndJSONCarryClipsAndWordCounts() throws {
            let steps = Self.steps()
            let csv = SwitchReport.csv(steps).split(separator: "\n")
            #expect(csv[0].hasSuffix(",wer,audio,word_errors,reference_words"))
            #expect(csv[2].hasSuffix(",0.5000,x,1,2") && csv[3].hasSuffix(",0.0000,y,0,4"))
            let data = try SwitchReport.json(steps, summary: SwitchSummary(steps: steps))
            let text = String(decoding: data, as: UTF8.self)
            for key in ["word_errors", "reference_words", "wer_percent", "varying_transcripts", "audio"] {
                #expect(text.contains("\"\(key)\""), "missing \(key)")
            }
            #expect(try SwitchReport.decode(data).steps == steps)
        }

        @Test func eachModelCyclesThroughTheClips() throws {
            let silence = try AudioSamples([Float](repeating: 0, count: 160), sampleRate: 16_000)
            let clips = (0..<3).map { SwitchBenchmark.Clip(name: "c\($0)", samples: silence) }
            let bench = SwitchBenchmark(models: [("A", "a"), ("B", "b")], clips: clips)
            // A: switches 0, 2, 4, 6 -> clips 0, 1, 2, 0; B the same on the odd switches.
            #expect((0..<8).map { bench.clipIndex(iteration: $0) } == [0, 0, 1, 1, 2, 2, 0, 0])
            let one = SwitchBenchmark(models: [("A", "a"), ("B", "b"), ("C", "c")], audio: silence)
            #expect((0..<6).allSatisfy { one.clipIndex(iteration: $0) == 0 })
        }
    }
}
