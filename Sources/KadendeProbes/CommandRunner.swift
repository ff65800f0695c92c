import KadendeSupport
import NIOPosix

/// Commands declared by users (probes, hooks) run the same way on agent and coordinator: no shell unless asked,
/// a minimal environment, on NIO's blocking pool (never on the cooperative executor), killed whole at the timeout.
public enum CommandRunner {
    /// `command` as argv, or as one script for `/bin/sh -c` when `shell`.
    public static func argv(_ command: [String], shell: Bool) -> [String] {
        shell ? ["/bin/sh", "-c", command.joined(separator: " ")] : command
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
