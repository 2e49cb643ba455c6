import EarshotRuntime
import Foundation
import Testing
@testable import EarshotBench
#if canImport(FoundationXML)
import FoundationXML
#endif

extension SwitchReportTests {
    @Suite struct TableTests {
        @Test func markdownTableHasOneColumnPerModelAndAnOverallBlock() {
            let s = SwitchSummary(steps: SwitchFixtures.steps(10, leakMB: 1, wer: { $0 % 2 == 0 ? 0.25 : nil }))
            let table = SwitchReport.table(s)
            let blocks = table.components(separatedBy: "\n\n")
            #expect(blocks.count == 2)
            for block in blocks {
                let lines = block.split(separator: "\n")
                // Fixed width: every line of a block as long as its header, all pipe-delimited.
                #expect(Set(lines.map(\.count)).count == 1)
                #expect(lines.allSatisfy { $0.hasPrefix("|") && $0.hasSuffix("|") })
                // The separator row: dashes, right-aligned (":") for the value columns.
                #expect(lines[1].hasPrefix("|-") && lines[1].hasSuffix(":|") && lines[1].allSatisfy { "|-:".contains($0) })
            }
            let lines = blocks[0].split(separator: "\n").map(String.init)
            #expect(lines[0].hasPrefix("| Metric ") && lines[0].contains(" A |") && lines[0].hasSuffix(" B |"))
            #expect(lines.count == 2 + 7)
            #expect(lines.contains { $0.hasPrefix("| Avg load overhead (MB)") && $0.contains(" 500.0 |") && $0.hasSuffix(" 1000.0 |") })
            #expect(lines.contains { $0.hasPrefix("| Avg unload release (MB)") && $0.contains(" 549.0 |") })
            #expect(lines.contains { $0.hasPrefix("| Avg net growth per switch (MB)") && $0.contains(" +1.0 |") })
            #expect(lines.contains { $0.hasPrefix("| Avg TTFT (ms)") })
            #expect(lines.contains { $0.hasPrefix("| Avg WER (%)") && $0.contains(" 25.0 |") && $0.hasSuffix(" n/a |") })
            #expect(blocks[1].hasPrefix("| Overall "))
            #expect(blocks[1].contains("| RSS anon slope after warm-up (MB/switch) |"))
            #expect(blocks[1].contains(" +1.000 |"))
            #expect(blocks[1].contains("| Total growth (MB)") && blocks[1].contains(" +10.0 |"))
        }

        @Test func pipesInModelNamesAreEscaped() {
            var steps = SwitchFixtures.steps(2)
            steps[0].model = "a|b"
            #expect(SwitchReport.table(SwitchSummary(steps: steps)).contains(" a\\|b |"))
        }
    }

    @Suite struct CSVTests {
        /// A minimal RFC 4180 reader: rows of fields, quotes undone.
        static func parse(_ csv: String) -> [[String]] {
            var rows: [[String]] = [], row: [String] = [], field = ""
            var quoted = false, chars = Array(csv.unicodeScalars)[...]
            while let c = chars.popFirst() {
                if quoted {
                    if c == "\"" {
                        if chars.first == "\"" { field.append("\""); chars.removeFirst() } else { quoted = false }
                    } else { field.unicodeScalars.append(c) }
                } else if c == "\"" { quoted = true }
                else if c == "," { row.append(field); field = "" }
                else if c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
                else if c != "\r" { field.unicodeScalars.append(c) }
            }
            return rows
        }

        @Test func oneRowPerSwitchUnderAHeader() {
            let steps = SwitchFixtures.steps(5, leakMB: 1, wer: { $0 == 0 ? 0.125 : nil })
            let csv = SwitchReport.csv(steps)
            let rows = Self.parse(csv)
            #expect(csv.hasSuffix("\n") && csv.split(separator: "\n").count == 6)
            #expect(rows.count == 6)
            #expect(rows[0] == SwitchReport.csvColumns)
            #expect(SwitchReport.csvColumns.count == 29)
            #expect(rows.allSatisfy { $0.count == 29 })
            let header = rows[0]
            func value(_ row: Int, _ column: String) -> String { rows[row][header.firstIndex(of: column)!] }
            #expect(value(1, "iteration") == "0" && value(1, "model") == "A")
            #expect(value(1, "before_load_rss_mb") == "100.000" && value(1, "after_load_rss_mb") == "600.000")
            #expect(value(2, "after_load_anon_mb") == "61.000" && value(2, "after_load_file_mb") == "1040.000")
            #expect(value(1, "fds_before") == "10" && value(1, "fds_after") == "11")
            #expect(value(1, "malloc_in_use_after_unload_mb") == "6.000")
            #expect(value(2, "load_ms") == "300.00" && value(2, "ttft_ms") == "11.00")
            #expect(value(1, "wer") == "0.1250" && value(2, "wer") == "")
        }

        @Test func textIsQuotedPerRFC4180() {
            var steps = SwitchFixtures.steps(2)
            steps[0].model = "my \"big\", model"
            steps[1].model = "two\nlines"
            let csv = SwitchReport.csv(steps, lineEnding: "\r\n")
            #expect(csv.contains("\r\n0,\"my \"\"big\"\", model\",100.000,"))
            let rows = Self.parse(csv)
            #expect(rows.count == 3 && rows.allSatisfy { $0.count == 29 })
            #expect(rows[1][1] == "my \"big\", model" && rows[2][1] == "two\nlines")
        }
    }

    @Suite struct JSONTests {
        @Test func roundTripsWithSnakeCaseKeys() throws {
            var steps = SwitchFixtures.steps(4, leakMB: 1, wer: { $0 == 3 ? .infinity : 0.5 })
            steps[0].beforeLoad.mappedByOwner.kvCache = 4096
            let summary = SwitchSummary(steps: steps)
            let metadata = ["model_a": "0.6B", "clipPath": "five.wav"]
            let data = try SwitchReport.json(steps, summary: summary, metadata: metadata)
            let decoded = try SwitchReport.decode(data)
            #expect(decoded == SwitchReport.Document(metadata: metadata, summary: summary, steps: steps))

            let text = String(decoding: data, as: UTF8.self)
            for key in ["avg_ttft_ms", "avg_wer_percent", "rss_anon_bytes", "peak_rss_bytes", "before_load",
                        "rss_anon_slope_after_warm_up_mb", "open_file_descriptors_start", "mapped_by_owner", "kv_cache"] {
                #expect(text.contains("\"\(key)\""), "missing \(key)")
            }
            // Dictionary keys are data, not property names: written as given.
            #expect(text.contains("\"clipPath\""))
            #expect(!text.contains("\"rssAnonBytes\"") && !text.contains("\"avgTTFTMs\""))
            #expect(text.contains("\"inf\""))
            // Sorted and pretty: top-level keys in order, one per line.
            let order = ["\n  \"metadata\"", "\n  \"steps\"", "\n  \"summary\""].map { text.range(of: $0)?.lowerBound }
            #expect(order.allSatisfy { $0 != nil } && order[0]! < order[1]! && order[1]! < order[2]!)

            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let summaryObject = object?["summary"] as? [String: Any]
            #expect(summaryObject?["switches"] as? Int == 4)
            #expect((object?["steps"] as? [Any])?.count == 4)
        }
    }

    @Suite struct SVGTests {
        /// Element names with their attributes, and all character data, of a parsed document.
        final class Collector: NSObject, XMLParserDelegate {
            var elements: [(name: String, attributes: [String: String])] = []
            var text = ""
            func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                        qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
                elements.append((elementName, attributeDict))
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
            func element(id: String) -> [String: String]? { elements.first { $0.attributes["id"] == id }?.attributes }
            func count(_ name: String) -> Int { elements.count { $0.name == name } }
        }

        static func parse(_ svg: String) -> Collector? {
            let parser = XMLParser(data: Data(svg.utf8))
            let collector = Collector()
            parser.delegate = collector
            return parser.parse() ? collector : nil
        }

        @Test(arguments: [1, 2, 10, 1000])
        func wellFormedWithBothSeriesAtFourPointsPerSwitch(_ count: Int) throws {
            let svg = SwitchReport.svg(SwitchFixtures.steps(count, leakMB: 1), title: "Switch A/B")
            let doc = try #require(Self.parse(svg))
            #expect(doc.elements.first?.name == "svg")
            #expect(doc.elements.first?.attributes["width"] == "900" && doc.elements.first?.attributes["height"] == "420")
            for id in ["rss", "rss-anon"] {
                let points = try #require(doc.element(id: id)?["points"]).split(separator: " ")
                #expect(points.count == 4 * count)
            }
            // Markers for at most ~60 switches, two lines each, in the two colours.
            let circles = doc.count("circle")
            #expect(circles > 0 && circles <= 2 * 2 * 61 + 2)
            #expect(doc.element(id: "load-markers")?["fill"] == "#2ca02c")
            #expect(doc.element(id: "unload-markers")?["fill"] == "#d62728")
            #expect(doc.text.contains("Switch A/B") && doc.text.contains("anonymous RSS") && doc.text.contains("after unload"))
            #expect(doc.text.contains("total RSS growth: +\(count).0 MB"))
            // A slope and its trend line need two switches after warm-up (floor(20%) of them).
            let fitted = count - count / 5 >= 2
            #expect(doc.text.contains(fitted ? "warm-up: +1.000 MB/switch" : "warm-up: n/a"))
            #expect((doc.element(id: "anon-trend") != nil) == fitted)
            // Long runs add the after-unload levels over the faded sawtooth.
            #expect((doc.element(id: "rss-after-unload") != nil) == (count > 150))
            #expect((doc.element(id: "rss-anon-after-unload")?["points"]?.split(separator: " ").count ?? count) == count)
            #expect(svg.utf8.count < 400_000)
        }

        @Test func subtitleGivesTheSlopeAndTitleIsEscaped() throws {
            let svg = SwitchReport.svg(SwitchFixtures.steps(10, leakMB: 1), title: "A & B <0.6B vs 1.7B> \"q\"")
            let doc = try #require(Self.parse(svg))
            #expect(doc.text.contains("A & B <0.6B vs 1.7B> \"q\""))
            #expect(doc.text.contains("RSS anon slope after warm-up: +1.000 MB/switch"))
            #expect(doc.text.contains("total RSS growth: +10.0 MB"))
        }

        @Test func yTicksAreRoundNumbers() throws {
            let doc = try #require(Self.parse(SwitchReport.svg(SwitchFixtures.steps(6), title: "t")))
            let labels = doc.elements.filter { $0.name == "text" && $0.attributes["text-anchor"] == "end" }.count
            #expect(labels >= 3 && labels <= 12)
            #expect(ReportFormatting.niceStep(0.3) == 0.5 && ReportFormatting.niceStep(7) == 10)
            #expect(ReportFormatting.niceStep(1) == 1 && ReportFormatting.niceStep(12) == 20 && ReportFormatting.niceStep(250) == 500)
        }

        @Test func emptyRunStillRenders() throws {
            let doc = try #require(Self.parse(SwitchReport.svg([], title: "nothing")))
            #expect(doc.text.contains("no switches recorded"))
            #expect(doc.count("polyline") == 0)
            // A warm-up fraction past 1 is clamped: all warm-up, no trend line, still a chart.
            let allWarmUp = try #require(Self.parse(SwitchReport.svg(SwitchFixtures.steps(3), title: "t", warmUpFraction: 2)))
            #expect(allWarmUp.count("polyline") == 2 && allWarmUp.element(id: "anon-trend") == nil)
        }
    }
}
