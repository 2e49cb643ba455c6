import EarshotFuzzEntries
import Foundation

/// The target this process fuzzes, from `EARSHOT_FUZZ_TARGET` (see `scripts/fuzz list`).
let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["EARSHOT_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.named(name) else {
        let names = FuzzTargets.all.map(\.name).joined(separator: ", ")
        FileHandle.standardError.write(Data("earshot-fuzz: set EARSHOT_FUZZ_TARGET to one of: \(names) (got '\(name)')\n".utf8))
        exit(2)
    }
    return target
}()

/// libFuzzer's callback: one input, any bytes. Outcomes are ignored; only crashes, sanitizer
/// reports, timeouts and memory limits are findings. Also exported under libFuzzer's conventional
/// name, which its archive's (unused) `main` references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = target.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// `EARSHOT_FUZZ_TARGET=list`: the targets and what each reads.
func listTargets() {
    for t in FuzzTargets.all { print(t.name.padding(toLength: 20, withPad: " ", startingAt: 0) + t.summary) }
}
