#if canImport(Glibc)
import Glibc
#endif

/// How a command that ran to completion (or was stopped) ended.
public struct CommandOutcome: Sendable, Hashable, CustomStringConvertible {
    /// Exit status, when it exited.
    public var exitStatus: Int32?
    /// The signal that ended it, when one did (SIGKILL after a timeout).
    public var signal: Int32?
    public var timedOut: Bool
    /// Combined stdout and stderr, at most the limit asked for; `truncated` when there was more.
    public var output: String
    public var truncated: Bool

    public var succeeded: Bool { exitStatus == 0 && !timedOut }

    public var description: String {
        if timedOut { return "timed out" }
        if let exitStatus { return "exit \(exitStatus)" }
        return "killed by signal \(signal ?? 0)"
    }
}

extension Spawn {
    /// Runs `argv` to completion with its output captured, in a process group of its own that is killed whole
    /// when `timeout` passes (a probe that forks a daemon cannot outlive it). Blocks the calling thread: callers
    /// run it on a thread pool, never on a cooperative executor.
    public static func capture(_ argv: [String], environment: [String: String], timeout: Double,
                               outputLimit: Int = 4096) throws -> CommandOutcome {
        guard !(argv.first ?? "").isEmpty else { throw Failure(description: "empty command") }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        // pipe2 is not imported into Swift; close-on-exec keeps other spawns from inheriting these ends.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        let pid: pid_t
        do {
            pid = try spawnInGroup(argv, environment: environment) { actions in
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
                posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
            }
            close(writeEnd)
        } catch {
            close(writeEnd)
            close(readEnd)
            throw error
        }
        defer { close(readEnd) }

        let deadline = monotonicSeconds() + timeout
        var output: [UInt8] = []
        var truncated = false
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 4096)
        var open = true
        while open {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { timedOut = true; break }
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining * 1000, 1000).rounded(.up)))
            if ready < 0 && errno != EINTR { break }
            guard ready > 0 else { continue }
            let n = read(readEnd, &buffer, buffer.count)
            if n > 0 {
                let room = max(outputLimit - output.count, 0)
                if n > room { truncated = true }
                output.append(contentsOf: buffer[0..<min(n, room)])
            } else if n == 0 || errno != EINTR {
                open = false
            }
        }
        var result = try reap(pid, deadline: deadline, alreadyTimedOut: timedOut)
        result.output = String(decoding: output, as: UTF8.self)
        result.truncated = truncated
        return result
    }

    /// Waits until `deadline` for the command to exit (its output may have closed while it lives on); past it, kills
    /// its whole process group. Reaps it either way.
    static func reap(_ pid: pid_t, deadline: Double, alreadyTimedOut: Bool) throws -> CommandOutcome {
        var status: Int32 = 0
        var timedOut = alreadyTimedOut
        while !timedOut {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { return outcome(status, [], false) }
            if reaped < 0 && errno != EINTR { throw Failure(description: "waitpid: \(String(cString: strerror(errno)))") }
            if monotonicSeconds() >= deadline { timedOut = true; break }
            usleep(2_000)
        }
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        var result = outcome(status, [], false)
        result.timedOut = true
        return result
    }

    /// posix_spawn of `argv` in a process group of its own, with clean signal handling and no descriptor above 2
    /// inherited; `redirect` sets up 0, 1 and 2. A bare name is found on the PATH the command will have.
    static func spawnInGroup(_ argv: [String], environment: [String: String],
                             redirect: (inout posix_spawn_file_actions_t) -> Void) throws -> pid_t {
        guard let executable = argv.first, !executable.isEmpty else { throw Failure(description: "empty command") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        redirect(&actions)
        _ = spawnCloseFrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        cleanSignals(&attributes, flags: Int32(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let env = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        let args = argv.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        var pid: pid_t = 0
        let path = resolve(executable, searchPath: environment["PATH"] ?? defaultPath)
        let rc = posix_spawn(&pid, path, &actions, &attributes, args, env)
        guard rc == 0 else { throw Failure(description: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        return pid
    }

    static func outcome(_ status: Int32, _ output: [UInt8], _ truncated: Bool) -> CommandOutcome {
        let exited = status & 0x7f == 0
        return CommandOutcome(exitStatus: exited ? (status >> 8) & 0xff : nil, signal: exited ? nil : status & 0x7f,
                              timedOut: false, output: String(decoding: output, as: UTF8.self), truncated: truncated)
    }

    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// A bare name is looked up on the PATH the command will have, not on the caller's (glibc's posix_spawnp
    /// would use the caller's).
    static func resolve(_ name: String, searchPath: String) -> String {
        guard !name.contains("/") else { return name }
        for dir in searchPath.split(separator: ":") where access("\(dir)/\(name)", X_OK) == 0 {
            return "\(dir)/\(name)"
        }
        return name
    }

    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
