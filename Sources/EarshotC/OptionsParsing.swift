/// A door to the C ABI's JSON options reader, which is internal to this module, for the fuzz
/// targets (`fuzz/`) and the regression corpus the tests replay (`EarshotFuzzEntries`). It reads
/// `json` exactly as `earshot_model_load` and `earshot_transcribe_*` read their options argument.
///
/// `@_spi(Fuzzing)`: not part of the library's API; only a client that writes
/// `@_spi(Fuzzing) import EarshotC` sees it.
@_spi(Fuzzing) public enum OptionsParsing {
    /// The same C string read both as load options and as transcription options (each reader runs
    /// whatever the other says); throws the first error (`ABIError`, internal, hence untyped here).
    public static func parse(_ json: UnsafePointer<CChar>?) throws {
        var failure: (any Error)?
        do { _ = try OptionsJSON.precision(json) } catch { failure = error }
        do { _ = try OptionsJSON.transcription(json) } catch { failure = failure ?? error }
        do { _ = try OptionsJSON.alignment(json) } catch { failure = failure ?? error }
        if let failure { throw failure }
    }
}
