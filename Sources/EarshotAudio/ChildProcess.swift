#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CEarshotProcess

/// A child program in a process group of its own, with its standard streams on pipes.
///
/// Foundation's `Process` can neither put the child in its own group nor have its wait
/// cancelled, so a child that never ends (ffmpeg reading a "live" playlist) used to hold its
/// caller forever. Here the caller polls the pipes itself, and `terminate()` kills the whole
/// group (ffmpeg and anything it started) with SIGKILL and reaps it: no zombie, no stray reader.
/// The child inherits no descriptor but its three pipes (the server's sockets and model files
/// stay private). Used from one thread at a time.
final class ChildProcess {
    let pid: pid_t
    /// Our ends of the child's stdin (write), stdout and stderr (read); -1 once closed.
    private(set) var stdinFD: Int32
    private(set) var stdoutFD: Int32
    private(set) var stderrFD: Int32
    private var reaped = false

    /// What the child reads on its standard input.
    enum Input {
        /// A pipe that the caller writes through `stdinFD`.
        case pipe
        /// A descriptor of the caller's (a regular file, so the child can seek it); the caller keeps
        /// and closes its own copy.
        case descriptor(Int32)
        /// /dev/null.
        case nothing
    }

    /// Starts `executable` with `arguments`, its standard input as `input` says.
    init(executable: String, arguments: [String], input: Input) throws(AudioError) {
        let pipeStdin: Bool
        if case .pipe = input { pipeStdin = true } else { pipeStdin = false }
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        func closeAll() { for fd in inPipe + outPipe + errPipe where fd >= 0 { _ = close(fd) } }
        guard (!pipeStdin || Self.makePipe(&inPipe)), Self.makePipe(&outPipe), Self.makePipe(&errPipe) else {
            let reason = String(cString: strerror(errno))
            closeAll()
            throw .decoderFailed(name: "", tool: executable, status: -1, stderr: "cannot create pipes: \(reason)")
        }

        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        switch input {
        case .pipe: posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        case .descriptor(let fd): posix_spawn_file_actions_adddup2(&actions, fd, 0)
        case .nothing: posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        #if canImport(Glibc)
        let closing = earshot_spawn_closefrom(&actions, 3)
        guard closing == 0 else {
            closeAll()
            throw .decoderFailed(name: "", tool: executable, status: -1,
                                 stderr: "cannot limit the child's descriptors: \(String(cString: strerror(closing)))")
        }
        #endif
        // Own process group (pgid = pid), so one kill(-pid) reaches every process it starts; an
        // empty signal mask and default SIGPIPE, whatever the caller's thread had.
        var flags = Int32(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        #if canImport(Darwin)
        flags |= Int32(POSIX_SPAWN_CLOEXEC_DEFAULT)
        #endif
        posix_spawnattr_setflags(&attributes, Int16(flags))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t(), defaults = sigset_t()
        sigemptyset(&noSignals)
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else {
            closeAll()
            throw .decoderFailed(name: "", tool: executable, status: -1,
                                 stderr: "cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        pid = child
        // The child's ends belong to the child now.
        if pipeStdin { _ = close(inPipe[0]) }
        _ = close(outPipe[1])
        _ = close(errPipe[1])
        stdinFD = pipeStdin ? inPipe[1] : -1
        stdoutFD = outPipe[0]
        stderrFD = errPipe[0]
        for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    private static func makePipe(_ fds: inout [Int32]) -> Bool {
        var pair: [Int32] = [-1, -1]
        guard earshot_pipe_cloexec(&pair) == 0 else { return false }
        fds = pair
        return true
    }

    func closeStdin() { Self.closeFD(&stdinFD) }
    func closeStdout() { Self.closeFD(&stdoutFD) }
    func closeStderr() { Self.closeFD(&stderrFD) }

    private static func closeFD(_ fd: inout Int32) {
        if fd >= 0 { _ = close(fd) }
        fd = -1
    }

    /// The exit status once the child has ended (reaping it), or nil while it runs.
    /// Exit codes are 0...255; death by signal N is reported as 128 + N, as shells do.
    func pollExit() -> Int32? {
        guard !reaped else { return nil }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return nil }
        reaped = true
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    /// Kills the child's whole process group, reaps the child and closes every pipe. Idempotent.
    func terminate() {
        if !reaped {
            _ = kill(-pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            reaped = true
        }
        closeStdin()
        closeStdout()
        closeStderr()
    }

    deinit { terminate() }
}
