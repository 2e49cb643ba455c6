import Foundation
import EarshotRuntime
import Testing
@testable import EarshotServer

/// Exact bytes of every response format, timestamps and escaping, and the JSON keys the openai
/// package reads.
@Suite struct TranscriptFormatsTests {
    typealias Segment = TranscriptDocument.Segment

    /// 84 004 samples at 16 kHz: the duration has the sample-count tail the runtime reports.
    static let hello = TranscriptDocument(text: "Hello there.", language: "English", duration: 84_001.0 / 16_000,
                                          segments: [Segment(start: 0, end: 84_001.0 / 16_000, text: "Hello there.",
                                                             tokens: [9707, 1052, 13])])

    static func object(_ body: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    /// `--max-line-chars`: srt cues of whole words, none longer than the limit unless one word is.
    @Test func wordCuesKeepToTheLineLimit() throws {
        var segment = TranscriptSegment(start: 0, end: 3, text: " The quick brown fox jumps", tokenIDs: [])
        let words = [" The", " quick", " brown", " fox", " jumps"]
        segment.words = words.enumerated().map { i, w in
            TranscriptWord(start: Double(i) * 0.5, end: Double(i) * 0.5 + 0.4, word: w, probability: 1)
        }
        let result = TranscriptionResult(text: "The quick brown fox jumps", language: "English", tokenIDs: [],
                                         audioSeconds: 3, audioTokens: 0, timings: Timings(), segments: [segment])
        let srt = try #require(TranscriptRenderer.render(result, format: "srt", maxLineChars: 10))
        #expect(srt == """
            1
            00:00:00,000 --> 00:00:00,900
            The quick

            2
            00:00:01,000 --> 00:00:01,900
            brown fox

            3
            00:00:02,000 --> 00:00:02,400
            jumps


            """)
        // Without the limit the cue is the segment.
        #expect(TranscriptRenderer.render(result, format: "srt")!.contains("The quick brown fox jumps"))
    }

    @Test func contentTypes() {
        #expect(ResponseFormat.allCases.map(\.rawValue) == ["json", "text", "verbose_json", "srt", "vtt"])
        #expect(ResponseFormat(rawValue: "verbose_json") == .verboseJSON)
        #expect(ResponseFormat(rawValue: "JSON") == nil)
        #expect(Self.hello.render(.json).contentType == "application/json")
        #expect(Self.hello.render(.verboseJSON).contentType == "application/json")
        #expect(Self.hello.render(.text).contentType == "text/plain; charset=utf-8")
        #expect(Self.hello.render(.srt).contentType == "text/plain; charset=utf-8")
        #expect(Self.hello.render(.vtt).contentType == "text/vtt; charset=utf-8")
    }

    @Test func jsonAndText() {
        #expect(Self.hello.render(.json).body == #"{"text":"Hello there.","usage":{"seconds":6,"type":"duration"}}"#)
        #expect(Self.hello.render(.text).body == "Hello there.\n")
        var whole = Self.hello
        whole.duration = 5
        #expect(whole.render(.json).body == #"{"text":"Hello there.","usage":{"seconds":5,"type":"duration"}}"#)
        let empty = TranscriptDocument(text: "", language: "", duration: 0, segments: [])
        #expect(empty.render(.json).body == #"{"text":"","usage":{"seconds":0,"type":"duration"}}"#)
        #expect(empty.render(.text).body == "\n")
    }

    @Test func verboseJSONExact() {
        #expect(Self.hello.render(.verboseJSON).body == """
            {"duration":5.25,"language":"english","segments":[{"avg_logprob":0,"compression_ratio":0.6,"end":5.25,"id":0,\
            "no_speech_prob":0,"seek":0,"start":0,"temperature":0,"text":"Hello there.","tokens":[9707,1052,13]}],\
            "task":"transcribe","text":"Hello there.","usage":{"seconds":6,"type":"duration"}}
            """)
    }

    /// The keys and value types of the openai package's `TranscriptionVerbose` and `TranscriptionSegment`.
    @Test func verboseJSONShape() throws {
        let document = TranscriptDocument(
            text: "One. Two.", language: "English,Chinese", duration: 1300.25,
            segments: [Segment(start: 0, end: 1200, text: "One.", tokens: [1, 2], avgLogprob: -0.25),
                       Segment(start: 1200, end: 1300.25, text: "Two.", tokens: [3], avgLogprob: .nan)])
        let root = try Self.object(document.render(.verboseJSON).body)
        #expect(Set(root.keys) == ["task", "language", "duration", "text", "segments", "usage"])
        #expect(root["task"] as? String == "transcribe")
        #expect(root["language"] as? String == "english,chinese")
        #expect(root["duration"] as? Double == 1300.25)
        let usage = try #require(root["usage"] as? [String: Any])
        #expect(usage["type"] as? String == "duration" && usage["seconds"] as? Int == 1301 && usage.count == 2)
        let segments = try #require(root["segments"] as? [[String: Any]])
        #expect(segments.count == 2)
        for segment in segments {
            #expect(Set(segment.keys) == ["id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob",
                                          "compression_ratio", "no_speech_prob"])
        }
        #expect(segments.map { $0["id"] as? Int } == [0, 1])
        #expect(segments.map { $0["seek"] as? Int } == [0, 120_000])
        #expect(segments.map { $0["end"] as? Double } == [1200, 1300.25])
        #expect(segments.map { $0["tokens"] as? [Int] } == [[1, 2], [3]])
        #expect(segments.map { $0["avg_logprob"] as? Double } == [-0.25, 0])
        #expect(segments.allSatisfy { ($0["compression_ratio"] as? Double ?? 0) > 0 })
    }

    @Test func languageAndMissingSegments() throws {
        let unknown = TranscriptDocument(text: "Text only.", language: "", duration: 2, segments: [])
        let root = try Self.object(unknown.render(.verboseJSON).body)
        #expect(root["language"] as? String == "")
        let segments = try #require(root["segments"] as? [[String: Any]])
        #expect(segments.count == 1 && segments[0]["end"] as? Double == 2 && segments[0]["text"] as? String == "Text only.")
        #expect(unknown.render(.srt).body == "1\n00:00:00,000 --> 00:00:02,000\nText only.\n\n")
        let empty = TranscriptDocument(text: "", language: "", duration: 3, segments: [])
        #expect(empty.render(.srt).body == "")
        #expect(empty.render(.vtt).body == "WEBVTT\n\n")
        #expect(try #require(try Self.object(empty.render(.verboseJSON).body)["segments"] as? [Any]).isEmpty)
    }

    @Test func timestamps() {
        func srt(_ seconds: Double) -> String { TranscriptDocument.timestamp(seconds, separator: ",") }
        #expect(srt(0) == "00:00:00,000")
        #expect(srt(59.999) == "00:00:59,999")
        #expect(srt(59.9996) == "00:01:00,000")
        #expect(srt(3661.5) == "01:01:01,500")
        #expect(srt(5.2500625) == "00:00:05,250")
        #expect(srt(2.0004) == "00:00:02,000")
        #expect(srt(0.0006) == "00:00:00,001")
        #expect(srt(86_400) == "24:00:00,000")
        #expect(srt(400_000) == "99:59:59,999")
        #expect(srt(.infinity) == "99:59:59,999")
        #expect(srt(-3) == "00:00:00,000")
        #expect(srt(.nan) == "00:00:00,000")
        #expect(TranscriptDocument.timestamp(3661.5, separator: ".") == "01:01:01.500")
    }

    static let multi = TranscriptDocument(
        text: "First line. Second line Last", language: "English", duration: 3662,
        segments: [Segment(start: 0, end: 5.25, text: " First line.", tokens: []),
                   Segment(start: 5.25, end: 3661.5, text: "Second\r\n\r\n  line ", tokens: []),
                   Segment(start: 3661.5, end: 3662, text: " \n ", tokens: []),
                   Segment(start: 3662, end: 3661, text: "a < b & c --> d", tokens: [])])

    @Test func subRip() {
        #expect(Self.hello.render(.srt).body == "1\n00:00:00,000 --> 00:00:05,250\nHello there.\n\n")
        #expect(Self.multi.render(.srt).body == """
            1
            00:00:00,000 --> 00:00:05,250
            First line.

            2
            00:00:05,250 --> 01:01:01,500
            Second
            line

            3
            01:01:02,000 --> 01:01:02,000
            a < b & c --> d


            """)
    }

    @Test func webVTT() {
        #expect(Self.hello.render(.vtt).body == "WEBVTT\n\n00:00:00.000 --> 00:00:05.250\nHello there.\n\n")
        #expect(Self.multi.render(.vtt).body == """
            WEBVTT

            00:00:00.000 --> 00:00:05.250
            First line.

            00:00:05.250 --> 01:01:01.500
            Second
            line

            01:01:02.000 --> 01:01:02.000
            a &lt; b &amp; c --&gt; d


            """)
    }

    static let unicode = "Grüße, 世界 🎧 \"quoted\" back\\slash a/b\nnext\tline \u{01}\u{2028}"

    @Test func unicodeRoundTrips() throws {
        let document = TranscriptDocument(text: Self.unicode, language: "German", duration: 1,
                                          segments: [Segment(start: 0, end: 1, text: Self.unicode, tokens: [7])])
        let json = document.render(.json).body
        #expect(json.contains("a/b")) // .withoutEscapingSlashes
        #expect(try Self.object(json)["text"] as? String == Self.unicode)
        let verbose = try Self.object(document.render(.verboseJSON).body)
        #expect(verbose["text"] as? String == Self.unicode)
        #expect((verbose["segments"] as? [[String: Any]])?.first?["text"] as? String == Self.unicode)
        #expect(document.render(.text).body == Self.unicode + "\n")
    }

    @Test func nonFiniteInputsStillEncode() throws {
        let broken = TranscriptDocument(text: "x", language: "English", duration: .nan,
                                        segments: [Segment(start: -.infinity, end: .infinity, text: "x", tokens: [])])
        let root = try Self.object(broken.render(.verboseJSON).body)
        #expect(root["duration"] as? Double == 0)
        #expect((root["segments"] as? [[String: Any]])?.first?["end"] as? Double == TranscriptDocument.maxSeconds)
        #expect(broken.render(.json).body == #"{"text":"x","usage":{"seconds":0,"type":"duration"}}"#)
    }

    // MARK: Server-sent events

    @Test func serverSentEvents() throws {
        #expect(ServerSentEvent.delta("Hi") == "data: {\"type\":\"transcript.text.delta\",\"delta\":\"Hi\"}\n\n")
        #expect(ServerSentEvent.done(text: "") == "data: {\"type\":\"transcript.text.done\",\"text\":\"\"}\n\n")
        #expect(ServerSentEvent.delta(Self.unicode) == """
            data: {"type":"transcript.text.delta","delta":"Grüße, 世界 🎧 \\"quoted\\" back\\\\slash a/b\\nnext\\tline \\u0001\\u2028"}\n\n
            """)
        for event in [ServerSentEvent.delta(Self.unicode), ServerSentEvent.done(text: Self.unicode)] {
            #expect(event.hasPrefix("data: ") && event.hasSuffix("\n\n"))
            let payload = event.dropFirst(6).dropLast(2)
            #expect(!payload.contains("\n") && !payload.contains("\r")) // One line per event.
            let object = try Self.object(String(payload))
            #expect((object["delta"] ?? object["text"]) as? String == Self.unicode)
        }
        #expect(try Self.object(String(ServerSentEvent.done(text: "a\u{7F}\u{1F}b").dropFirst(6)))["text"] as? String == "a\u{7F}\u{1F}b")
    }

}
