import KadendeSupport
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Commands declared by users (probes, hooks) run the same way on agent and coordinator: no shell unless asked,
/// a minimal environment, on NIO's blocking pool (never on the cooperative executor), killed whole at the timeout.
public enum CommandRunner {
    /// `command` as argv, or as one script for `/bin/sh -c` when `shell`.
    public static func argv(_ command: [String], shell: Bool) -> [String] {
        shell ? ["/bin/sh", "-c", command.joined(separator: " ")] : command
    }

    /// The same, run as `user` when one is named; nil when there is no such user. setpriv drops to the user, its
    /// primary group and its other groups before exec, without a shell or PAM in between.
    public static func argv(_ command: [String], shell: Bool, user: String?) -> [String]? {
        let argv = argv(command, shell: shell)
        guard let user else { return argv }
        guard let account = Account(user) else { return nil }
        return ["/usr/bin/setpriv", "--reuid=\(account.uid)", "--regid=\(account.gid)", "--init-groups", "--"] + argv
    }

    /// Runs `argv` with `PATH` and `LANG` set unless `environment` sets them.
    public static func run(_ argv: [String], environment: [String: String], timeout: Double, outputLimit: Int) async throws -> CommandOutcome {
        var env = ["PATH": Spawn.defaultPath, "LANG": "C.UTF-8"]
        env.merge(environment) { _, given in given }
        let finalEnvironment = env
        return try await NIOThreadPool.singleton.runIfActive {
            try Spawn.capture(argv, environment: finalEnvironment, timeout: timeout, outputLimit: outputLimit)
        }
    }
}

/// A user from the password database.
public struct Account: Sendable {
    public var uid: uid_t
    public var gid: gid_t

    public init?(_ name: String) {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        uid = entry.pw_uid
        gid = entry.pw_gid
    }
}
