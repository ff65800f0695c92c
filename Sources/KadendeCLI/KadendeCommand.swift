import ArgumentParser

public struct KadendeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "kadende",
        abstract: "Keeps groups of identical nodes alive on any provider.",
        subcommands: [ServerCommand.self, GroupCommand.self, NodeCommand.self, ConfigCommand.self, EventsCommand.self,
                      ClusterCommand.self, CredentialsCommand.self, LoginCommand.self, LogoutCommand.self, UserCommand.self,
                      TokenCommand.self, AuditCommand.self]
    )

    public init() {}
}

/// Options every client command shares.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "Coordinator API URL (or KADENDE_COORDINATOR).")
    var coordinator: String = ProcessEnvironment.value("KADENDE_COORDINATOR") ?? "http://127.0.0.1:7080"

    @Option(name: .shortAndLong, help: "Output format: table, json or yaml.")
    var output: OutputFormat = .table

    @Option(name: .long, help: "Cluster the command applies to.")
    var cluster: String = "default"

    @Option(name: .long, help: "API token (or KADENDE_TOKEN; else the one `kadende login` saved for this coordinator).")
    var token: String?

    @Option(name: .long, help: "CA certificate to trust for an https coordinator (or KADENDE_CA), e.g. its <data-dir>/pki/ca.pem.")
    var ca: String?

    var client: APIClient {
        APIClient(base: coordinator, token: token ?? ProcessEnvironment.value("KADENDE_TOKEN") ?? SavedTokens.load()[coordinator],
                  ca: ca ?? ProcessEnvironment.value("KADENDE_CA"))
    }
}

enum ProcessEnvironment {
    static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension KadendeCommand {
    /// Entry point for the executable: parses, runs async commands asynchronously, exits with the error's code.
    public static func runFromCommandLine() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
