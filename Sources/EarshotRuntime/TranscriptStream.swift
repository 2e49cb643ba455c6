import EarshotModels
import EarshotTokenizer
import Foundation

/// Streams transcript text as tokens arrive: the `language X<asr_text>` header is held back (unless
/// the language was forced, when everything is transcript), and incomplete UTF-8 sequences wait
/// for their remaining bytes. An output that never writes the header is all transcript and is
/// sent whole when the decode ends.
struct TranscriptStream {
    private var decoder: StreamingDecoder
    private var header = ""
    private var inText: Bool
    private let onText: ((String) -> Void)?

    init(tokenizer: Qwen2Tokenizer, forcedLanguage: Bool, onText: ((String) -> Void)?) {
        decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecial: true)
        inText = forcedLanguage
        self.onText = onText
    }

    mutating func push(_ id: Int) {
        guard onText != nil else { return }
        emit(decoder.push(id))
    }

    mutating func finish() {
        guard onText != nil else { return }
        emit(decoder.finish())
        // No `<asr_text>` header came: the whole output is transcript, as `Qwen3ASROutput.parse`
        // reads it, so it arrives now, in one piece and exactly as the result's text.
        if !inText {
            inText = true
            let text = Qwen3ASROutput.parse(header, forcedLanguage: nil).text
            header = ""
            if !text.isEmpty { onText?(text) }
        }
    }

    private mutating func emit(_ piece: String) {
        guard !piece.isEmpty else { return }
        if inText { onText?(piece); return }
        header += piece
        if let r = header.range(of: "<asr_text>") {
            inText = true
            let rest = String(header[r.upperBound...])
            header = ""
            if !rest.isEmpty { onText?(rest) }
        }
    }
}

/// Stops runaway repetition (the official package only post-processes
/// repetitions, QwenLM/Qwen3-ASR issue 129; this guard stops the decode itself): a pattern of 1...16 tokens repeated `repeats` times
/// in a row at the end of the output.
struct LoopGuard {
    let repeats: Int
    init(repeats: Int) { self.repeats = repeats }

    func shouldStop<C: RandomAccessCollection>(after ids: C) -> Bool where C.Element == Int, C.Index == Int {
        guard repeats > 1 else { return false }
        let n = ids.count, first = ids.startIndex
        // `repeats <= n / period` rather than `period * repeats <= n`: repeats may be huge.
        for period in 1...16 where repeats <= n / period {
            var same = true
            var i = n - period * (repeats - 1)
            while i < n && same {
                if ids[first + i] != ids[first + i - period] { same = false }
                i += 1
            }
            if same { return true }
        }
        return false
    }
}
