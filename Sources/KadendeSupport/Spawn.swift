#if canImport(Glibc)
import Glibc
#endif

/// Starting processes without Foundation's `Process`, which reaps children itself and would hide an exit from
/// `waitpid`, and which cannot start a new session.
public enum Spawn {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `executable` in a new session (so it outlives the coordinator and can be killed as a group), with
    /// stdout and stderr appended to `logFile`.
    public static func detached(executable: String, arguments: [String], logFile: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Not every descriptor the coordinator holds is close-on-exec (listening sockets among them): an agent that
        // inherited one would keep the coordinator's ports busy after the coordinator died.
        _ = spawnCloseFrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc ≥ 2.26) is not imported into Swift.
        cleanSignals(&attributes, flags: 0x80)
        return try spawn(executable, arguments, &actions, &attributes)
    }

    /// The child starts with no signal blocked and every handler at its default, whatever the parent (NIO blocks
    /// SIGPIPE, the shell ignores SIGINT for background jobs) had; `flags` adds to that.
    static func cleanSignals(_ attributes: inout posix_spawnattr_t, flags: Int32) {
        posix_spawnattr_setflags(&attributes, Int16(flags | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
    }

    /// Runs a short helper to completion and returns its exit status.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        let pid = try spawn(executable, arguments, &actions, &attributes)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    static func spawn(_ executable: String, _ arguments: [String],
                              _ actions: inout posix_spawn_file_actions_t, _ attributes: inout posix_spawnattr_t) throws -> Int32 {
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw Failure(description: "posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        return pid
    }
}

/// glibc ≥ 2.34 has it, but its header hides it from Swift's importer.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
func spawnCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

