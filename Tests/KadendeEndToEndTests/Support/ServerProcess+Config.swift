import Foundation
import KadendeAPI

extension ServerProcess {
    func configStatus(group: String) throws -> APIConfigStatus { try json(["config", "status", "--group", group]) }

    /// Writes a revision file and pushes it; returns the CLI's output.
    @discardableResult
    func push(_ yaml: String, group: String, directory: String) throws -> String {
        try cli(["config", "push", "--group", group, "-f", write(yaml, directory)])
    }

    /// Pushes and watches the rollout to its end (off the cooperative pool: see `cliWaiting`).
    @discardableResult
    func pushWatching(_ yaml: String, group: String, directory: String) async throws -> String {
        try await cliWaiting(["config", "push", "--group", group, "-f", write(yaml, directory), "--watch"])
    }

    private func write(_ yaml: String, _ directory: String) throws -> String {
        let path = directory + "/push-\(UUID().uuidString.prefix(6)).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The directory pushed files land in for a process node (its own root, never the host's).
    func nodeRoot(_ nodeID: String) -> String { dataDirectory + "/process/nodes/\(nodeID)/root" }
    func nodeDirectory(_ nodeID: String) -> String { dataDirectory + "/process/nodes/\(nodeID)" }
}
