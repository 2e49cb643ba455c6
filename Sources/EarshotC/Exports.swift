import EarshotAudio
import EarshotModels
import EarshotRuntime
import EarshotTensor
import Foundation

// The functions of earshot.h. Each one runs its body through `call`, which turns a thrown
// `ABIError` into a status and the thread's last error: no Swift error or trap crosses the ABI.

public typealias CString = UnsafePointer<CChar>
public typealias OutString = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

/// Runs `body`, recording its failure for `earshot_last_error`.
func call(_ body: () throws(ABIError) -> Void) -> Int32 {
    do {
        try body()
        return Status.ok.rawValue
    } catch {
        LastError.set(error.message)
        return error.status.rawValue
    }
}

/// The non-NULL `pointer`, or an invalid-argument error naming the parameter.
func required<T>(_ pointer: T?, _ name: String, in function: String) throws(ABIError) -> T {
    guard let pointer else { throw .invalidArgument("\(function): \(name) is NULL") }
    return pointer
}

/// Stores a JSON document in `*out` as a string the caller frees with `earshot_string_free`.
func output(_ json: String, to out: OutString) throws(ABIError) {
    guard let p = Handles.shared.string(json) else { throw ABIError(.outOfMemory, "cannot allocate the result string") }
    out.pointee = p
}

/// Encodes `value` as compact JSON with sorted keys.
func encodeJSON<T: Encodable>(_ value: T) throws(ABIError) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    do {
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    } catch {
        throw ABIError(.internal, "cannot encode the result as JSON: \(error)")
    }
}

@_cdecl("earshot_version")
public func earshot_version() -> UnsafePointer<CChar> { StaticCString.version }

@_cdecl("earshot_abi_version")
public func earshot_abi_version() -> Int32 { 2 }   // 2: earshot_align_*, aligner_session

@_cdecl("earshot_last_error")
public func earshot_last_error() -> UnsafePointer<CChar> { LastError.pointer }

@_cdecl("earshot_set_threads")
public func earshot_set_threads(_ threads: Int32) -> Int32 {
    call { () throws(ABIError) in
        guard OptionBounds.threads.range.contains(Int(threads)) else {
            throw .invalidArgument("earshot_set_threads: threads must be in \(OptionBounds.threads.allowed), got \(threads)")
        }
        Kernels.setThreadCount(Int(threads))
    }
}

@_cdecl("earshot_memory_report")
public func earshot_memory_report(_ out: OutString?) -> Int32 {
    call { () throws(ABIError) in
        let out = try required(out, "out_json", in: "earshot_memory_report")
        try output(try encodeJSON(NativeMemoryReport.current()), to: out)
    }
}

@_cdecl("earshot_string_free")
public func earshot_string_free(_ string: UnsafeMutablePointer<CChar>?) -> Int32 {
    call { () throws(ABIError) in
        guard let string else { return }
        try Handles.shared.freeString(string)
    }
}

/// `earshot_memory_report`'s document: the process's memory and Earshot's live objects.
struct NativeMemoryReport: Encodable {
    struct Mapped: Encodable {
        var weights, kvCache, scratch, audio, other: Int
        enum CodingKeys: String, CodingKey { case weights, kvCache = "kv_cache", scratch, audio, other }
    }
    var rssBytes, rssAnonBytes, rssFileBytes, pssBytes, peakRSSBytes, openFDs: Int
    var mapped: Mapped
    var mappedAnonymousBytes, mappedFileBytes, mallocInUseBytes, mallocFreeBytes: Int
    var liveModels, liveSessions, liveStrings: Int

    enum CodingKeys: String, CodingKey {
        case rssBytes = "rss_bytes", rssAnonBytes = "rss_anon_bytes", rssFileBytes = "rss_file_bytes"
        case pssBytes = "pss_bytes", peakRSSBytes = "peak_rss_bytes", openFDs = "open_fds", mapped
        case mappedAnonymousBytes = "mapped_anonymous_bytes", mappedFileBytes = "mapped_file_bytes"
        case mallocInUseBytes = "malloc_in_use_bytes", mallocFreeBytes = "malloc_free_bytes"
        case liveModels = "live_models", liveSessions = "live_sessions", liveStrings = "live_strings"
    }

    static func current() -> NativeMemoryReport {
        let r = MemoryReport.current()
        let live = Handles.shared.counts
        let m = r.mappedByOwner
        return NativeMemoryReport(
            rssBytes: r.rssBytes, rssAnonBytes: r.rssAnonBytes, rssFileBytes: r.rssFileBytes, pssBytes: r.pssBytes,
            peakRSSBytes: r.peakRSSBytes, openFDs: r.openFileDescriptors,
            mapped: Mapped(weights: m.weights, kvCache: m.kvCache, scratch: m.scratch, audio: m.audio, other: m.other),
            mappedAnonymousBytes: r.mappedAnonymousBytes, mappedFileBytes: r.mappedFileBytes,
            mallocInUseBytes: r.mallocInUseBytes, mallocFreeBytes: r.mallocFreeBytes,
            liveModels: live.models, liveSessions: live.sessions, liveStrings: live.strings)
    }
}
