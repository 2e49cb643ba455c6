import EarshotRuntime

/// One switch of `earshot bench switch`: load a model, transcribe, unload, with the process's
/// memory recorded around every step.
public struct SwitchStep: Sendable, Codable, Equatable {
    /// 0-based switch index (models alternate: A, B, A, B, ...).
    public var iteration: Int
    /// The model's name as given on the command line.
    public var model: String
    public var beforeLoad: MemoryReport
    public var afterLoad: MemoryReport
    public var afterTranscribe: MemoryReport
    public var afterUnload: MemoryReport
    public var loadMs: Double
    /// Time to first token of the transcription (from the request, model already loaded).
    public var ttftMs: Double
    public var transcribeMs: Double
    public var unloadMs: Double
    public var text: String
    /// Word error rate against the reference text, in [0, inf); nil without a reference.
    public var wer: Double?
    /// The clip's name when the run cycles through several (a speech set); nil with one clip.
    public var audio: String?
    /// The errors and reference words behind `wer` (nil without a reference), so that a model's
    /// WER over the run can be summed rather than averaged.
    public var wordErrors: WordErrorRate.Counts?

    public init(iteration: Int, model: String, beforeLoad: MemoryReport, afterLoad: MemoryReport,
                afterTranscribe: MemoryReport, afterUnload: MemoryReport, loadMs: Double, ttftMs: Double,
                transcribeMs: Double, unloadMs: Double, text: String, wer: Double?,
                audio: String? = nil, wordErrors: WordErrorRate.Counts? = nil) {
        self.iteration = iteration
        self.model = model
        self.beforeLoad = beforeLoad
        self.afterLoad = afterLoad
        self.afterTranscribe = afterTranscribe
        self.afterUnload = afterUnload
        self.loadMs = loadMs
        self.ttftMs = ttftMs
        self.transcribeMs = transcribeMs
        self.unloadMs = unloadMs
        self.text = text
        self.wer = wer
        self.audio = audio
        self.wordErrors = wordErrors
    }
}
