import CLibFuzzer
import Foundation

// libFuzzer's own `main` is not used: SwiftPM points the executable's `main` at this module's
// entry point, so this hands the command line to libFuzzer's driver.
if ProcessInfo.processInfo.environment["EARSHOT_FUZZ_TARGET"] == "list" {
    listTargets()
    exit(0)
}
_ = target  // an unknown name stops here, before fuzzing starts
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) })
