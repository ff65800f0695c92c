#if canImport(Glibc)
import Glibc
#endif

/// What a program that was handed input answered: its status, stdout and stderr kept apart.
public struct Exchange: Sendable {
    public var outcome: CommandOutcome
    public var stdout: [UInt8]
    public var stderr: String
    public var stdoutTruncated: Bool
}

extension Spawn {
    /// Runs `argv` with `input` on its stdin and stdout and stderr captured apart (each up to its limit), in a
    /// process group of its own that is killed whole at `timeout`. For provider plugins: a request in, an answer
    /// out, diagnostics beside. Blocks the calling thread: run it on a thread pool.
    public static func exchange(_ argv: [String], input: [UInt8], environment: [String: String], timeout: Double,
                                stdoutLimit: Int = 4 << 20, stderrLimit: Int = 8192) throws -> Exchange {
        var pipes: [(Int32, Int32)] = []
        for _ in 0..<3 {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else {
                pipes.forEach { close($0.0); close($0.1) }
                throw Failure(description: "pipe: \(String(cString: strerror(errno)))")
            }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            pipes.append((fds[0], fds[1]))
        }
        let (stdinRead, stdinWrite) = pipes[0]
        let (outRead, outWrite) = pipes[1]
        let (errRead, errWrite) = pipes[2]
        let spawned = Result {
            try spawnInGroup(argv, environment: environment) { actions in
                posix_spawn_file_actions_adddup2(&actions, stdinRead, 0)
                posix_spawn_file_actions_adddup2(&actions, outWrite, 1)
                posix_spawn_file_actions_adddup2(&actions, errWrite, 2)
            }
        }
        close(stdinRead)
        close(outWrite)
        close(errWrite)
        let pid: pid_t
        do { pid = try spawned.get() } catch {
            [stdinWrite, outRead, errRead].forEach { close($0) }
            throw error
        }
        // A child that never reads must not block this thread on a full pipe.
        _ = fcntl(stdinWrite, F_SETFL, fcntl(stdinWrite, F_GETFL) | O_NONBLOCK)
        var inputFD: Int32? = stdinWrite
        var written = 0
        if input.isEmpty { close(stdinWrite); inputFD = nil }
        defer { if let fd = inputFD { close(fd) } }
        defer { close(outRead); close(errRead) }

        let deadline = monotonicSeconds() + timeout
        var out: [UInt8] = [], err: [UInt8] = []
        var outTruncated = false
        var open: Set<Int32> = [outRead, errRead]
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while !open.isEmpty {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { timedOut = true; break }
            var polled = open.sorted().map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if let fd = inputFD { polled.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&polled, nfds_t(polled.count), Int32(min(remaining * 1000, 1000).rounded(.up)))
            if ready < 0 && errno != EINTR { break }
            guard ready > 0 else { continue }
            for p in polled where p.revents != 0 {
                if p.fd == inputFD {
                    let n = input.withUnsafeBytes { write(p.fd, $0.baseAddress! + written, $0.count - written) }
                    if n > 0 { written += n }
                    if written == input.count || (n < 0 && errno != EAGAIN && errno != EINTR) {
                        close(p.fd)
                        inputFD = nil
                    }
                    continue
                }
                let n = read(p.fd, &buffer, buffer.count)
                if n > 0 {
                    if p.fd == outRead {
                        let room = max(stdoutLimit - out.count, 0)
                        if n > room { outTruncated = true }
                        out.append(contentsOf: buffer[0..<min(n, room)])
                    } else {
                        err.append(contentsOf: buffer[0..<min(n, max(stderrLimit - err.count, 0))])
                    }
                } else if n == 0 || errno != EINTR {
                    open.remove(p.fd)
                }
            }
        }
        let outcome = try reap(pid, deadline: deadline, alreadyTimedOut: timedOut)
        return Exchange(outcome: outcome, stdout: out, stderr: String(decoding: err, as: UTF8.self), stdoutTruncated: outTruncated)
    }
}
