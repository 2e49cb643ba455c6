import ArgumentParser
import EarshotTensor
import Foundation

@main
struct Earshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "earshot",
        abstract: "Local speech recognition (Qwen3-ASR, Whisper) with memory that comes back.",
        subcommands: [Transcribe.self, Align.self, Serve.self, Convert.self, MakeRandomCheckpoint.self, Bench.self]
    )

    static func main() async {
        selectOpenBLASKernels()
        await main(nil)
    }

    /// OpenBLAS chose its kernels when it loaded, before this ran, from the CPU's model; on
    /// machines whose model it does not know it takes the slowest (see `blas_core.c`). When
    /// OPENBLAS_CORETYPE is unset, name the core the CPU's instructions allow and start this
    /// program again in place (same pid, arguments and environment), so OpenBLAS loads with it.
    /// EARSHOT_BLAS_CORE_SET marks the second start; any failure just runs on as it is.
    /// EARSHOT_KEEP_BLAS_CORE=1 turns this off.
    static func selectOpenBLASKernels() {
        #if os(Linux)
        let env = ProcessInfo.processInfo.environment
        if env["EARSHOT_BLAS_CORE_SET"] != nil {
            // The second start: OpenBLAS has read the variable; children (ffmpeg, other programs)
            // should not inherit a choice made for this CPU and this program.
            unsetenv("EARSHOT_BLAS_CORE_SET")
            unsetenv("OPENBLAS_CORETYPE")
            return
        }
        // Under valgrind an exec would leave the checked process for an unchecked one (and valgrind
        // has no AVX-512): keep OpenBLAS's own choice there.
        if env["LD_PRELOAD"]?.contains("vgpreload") == true || env["EARSHOT_KEEP_BLAS_CORE"] == "1" { return }
        guard env["OPENBLAS_CORETYPE"] == nil, let core = CPUFeatures.openBLASCoreType else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("EARSHOT_BLAS_CORE_SET", "1", 1)
        let args = CommandLine.unsafeArgv
        execv("/proc/self/exe", args)
        // Still here: exec failed; OpenBLAS keeps the kernels it chose.
        unsetenv("OPENBLAS_CORETYPE")
        #endif
    }
}
