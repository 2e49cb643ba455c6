#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CEarshotProcess
import EarshotTensor

/// One ffmpeg run, driven from the calling thread: feeds stdin, drains stdout into a sample
/// sink and stderr into a bounded tail, and checks the caller's limits between polls.
///
/// A single `poll` loop over the three pipes cannot deadlock (ffmpeg blocked writing while we are
/// blocked writing to it) and needs no helper thread. Every exit path leaves the child to
/// `ChildProcess.terminate()`, which kills its group.
struct FFmpegRun {
    let child: ChildProcess
    /// Bytes still to feed to stdin (nil: ffmpeg reads a file).
    let input: UnsafeRawBufferPointer?
    let name: String
    let limits: AudioDecodeLimits

    struct Outcome {
        var status: Int32
        var samples: SampleSink
        var stderr: String
    }

    func pump() throws(AudioError) -> Outcome {
        let sink = try SampleSink(maxSamples: limits.maxSamples(atRate: FFmpegDecoder.outputRate))
        var stderrBytes: [UInt8] = []
        stderrBytes.reserveCapacity(FFmpegDecoder.stderrLimit)
        var fed = 0
        let guardPipe = SIGPIPEGuard()
        defer { guardPipe.restore() }
        if input == nil || input!.isEmpty { child.closeStdin() }
        var scratch = [UInt8](repeating: 0, count: 4096)

        while child.stdoutFD >= 0 || child.stderrFD >= 0 {
            try limits.checkContinue(name: name)
            var fds: [pollfd] = []
            if child.stdinFD >= 0 { fds.append(pollfd(fd: child.stdinFD, events: Int16(POLLOUT), revents: 0)) }
            if child.stdoutFD >= 0 { fds.append(pollfd(fd: child.stdoutFD, events: Int16(POLLIN), revents: 0)) }
            if child.stderrFD >= 0 { fds.append(pollfd(fd: child.stderrFD, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), FFmpegDecoder.pollIntervalMs)
            if ready < 0 && errno != EINTR {
                throw .decoderFailed(name: name, tool: "ffmpeg", status: -1, stderr: "poll: \(String(cString: strerror(errno)))")
            }
            guard ready > 0 else { continue }
            for p in fds where p.revents != 0 {
                if p.fd == child.stdinFD, let input {
                    let n = write(p.fd, input.baseAddress! + fed, min(input.count - fed, 1 << 16)), error = errno
                    if n > 0 { fed += n }
                    // EPIPE: ffmpeg stopped reading (it failed, or has what it needs); its exit
                    // status says which.
                    if fed == input.count || (n < 0 && error != EAGAIN && error != EINTR) { child.closeStdin() }
                } else if p.fd == child.stdoutFD {
                    let n = sink.read(from: p.fd), error = errno
                    if n < 0, error == ENOMEM { throw .allocationFailed(bytes: sink.byteCount * 2, reason: "growing the sample buffer") }
                    if n == 0 || (n < 0 && error != EAGAIN && error != EINTR) { child.closeStdout() }
                    if sink.exceededLimit { throw .tooLong(name: name, seconds: nil, limitSeconds: limits.maxSeconds ?? 0) }
                } else if p.fd == child.stderrFD {
                    let n = scratch.withUnsafeMutableBytes { read(p.fd, $0.baseAddress!, $0.count) }, error = errno
                    if n > 0 {
                        stderrBytes.append(contentsOf: scratch.prefix(min(n, FFmpegDecoder.stderrLimit + 3 - stderrBytes.count)))
                    } else if n == 0 || (error != EAGAIN && error != EINTR) {
                        child.closeStderr()
                    }
                }
            }
        }
        // Both output pipes are closed: ffmpeg is exiting (or closed them and lives on, which
        // the deadline and cancellation still cover).
        while true {
            if let status = child.pollExit() {
                return Outcome(status: status, samples: sink, stderr: String(decoding: stderrBytes, as: UTF8.self))
            }
            try limits.checkContinue(name: name)
            usleep(5_000)
        }
    }
}

/// SIGPIPE blocked on this thread while we write to ffmpeg: if it exits early, `write` returns
/// EPIPE instead of the signal killing the host process (a server, or Python). A SIGPIPE raised
/// meanwhile is consumed before the old mask comes back. Process-wide dispositions stay untouched.
struct SIGPIPEGuard {
    private var old = sigset_t()
    private var pipeOnly = sigset_t()

    init() {
        sigemptyset(&pipeOnly)
        sigaddset(&pipeOnly, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeOnly, &old)
    }

    func restore() {
        var pending = sigset_t(), set = pipeOnly, previous = old
        sigpending(&pending)
        if sigismember(&pending, SIGPIPE) == 1, sigismember(&previous, SIGPIPE) == 0 {
            var zero = timespec(tv_sec: 0, tv_nsec: 0)
            _ = sigtimedwait(&set, nil, &zero)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }
}
