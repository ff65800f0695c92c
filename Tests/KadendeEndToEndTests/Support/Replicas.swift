import Foundation
import KadendeAPI
import KadendeModel
import KadendeProviders
import KadendeSupport

/// Coordinator replicas on one PostgreSQL database that the test creates on the server `scripts/test` started
/// (`KADENDE_TEST_POSTGRES`). They share the CA and the secret key (an operator copies `<data-dir>/pki` and
/// `secret.key` from the first replica), and every agent is told every replica's agent endpoint.
final class Replicas: @unchecked Sendable {
    let servers: [ServerProcess]
    let database: String
    let url: String

    /// Nil when no PostgreSQL runs here and none is required.
    static func make(_ count: Int, directory: String, configure: (ServerProcess) -> Void = { _ in }) throws -> Replicas? {
        guard let base = ProcessInfo.processInfo.environment["KADENDE_TEST_POSTGRES"], var parts = URLComponents(string: base) else {
            if ProcessInfo.processInfo.environment["KADENDE_REQUIRE_POSTGRES"] == "1" {
                throw CLIError(message: "KADENDE_REQUIRE_POSTGRES=1 but KADENDE_TEST_POSTGRES is not set: run scripts/test, which starts PostgreSQL")
            }
            return nil
        }
        let database = "kd_ha_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        try psql(base, "CREATE DATABASE \(database)")
        parts.path = "/" + database
        let url = parts.string ?? base
        let agentPorts = (0..<count).map { _ in FreePort.pick() }
        let servers = (0..<count).map { i -> ServerProcess in
            let server = ServerProcess(dataDirectory: "\(directory)/replica-\(i + 1)")
            server.storeURL = url
            server.setPorts(http: FreePort.pick(), agent: agentPorts[i])
            server.extraArguments = ["--replica-id", "replica-\(i + 1)"] + agentPorts.flatMap { ["--advertise", "127.0.0.1:\($0)"] }
            configure(server)
            return server
        }
        return Replicas(servers: servers, database: database, url: url)
    }

    private init(servers: [ServerProcess], database: String, url: String) {
        self.servers = servers
        self.database = database
        self.url = url
    }

    /// Starts the first replica (which makes the CA and the first admin), then the others with its identity.
    func startAll() async throws {
        try await servers[0].start()
        for server in servers.dropFirst() { try await start(server) }
    }

    func start(_ server: ServerProcess) async throws {
        if server !== servers[0] {
            let first = servers[0].dataDirectory
            try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
            for item in ["pki", "secret.key"] where !FileManager.default.fileExists(atPath: server.dataDirectory + "/" + item) {
                try FileManager.default.copyItem(atPath: first + "/" + item, toPath: server.dataDirectory + "/" + item)
            }
            server.adoptAdmin(of: servers[0])
        }
        try await server.start()
    }

    /// The replica that owns the group now, by the latest `group.owner_changed` event.
    func owner(of group: String, asking server: ServerProcess) throws -> String? {
        try server.events(group: group).last { $0.kind == .ownerChanged }?.reason.split(separator: " ").dropFirst().first.map(String.init)
    }

    func server(named name: String) -> ServerProcess? { servers.first { $0.dataDirectory.hasSuffix("/" + name) } }

    func cleanUp() {
        for server in servers { server.cleanUp() }
        if let base = ProcessInfo.processInfo.environment["KADENDE_TEST_POSTGRES"] {
            try? Self.psql(base, "DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        }
    }

    static func psql(_ url: String, _ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIError(message: "psql \(sql): \(String(decoding: message, as: UTF8.self))") }
    }
}

extension ServerProcess {
    /// Whether the process is stopped (SIGSTOP), from its state in /proc.
    var isStopped: Bool {
        guard let pid = process?.processIdentifier,
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)] == "T"
    }
}
