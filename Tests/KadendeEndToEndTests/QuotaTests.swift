import Foundation
import KadendeAPI
import KadendeModel
import Testing

/// A cluster's node quota: refused at apply when the groups would want more, and held at create time when a
/// replacement would pass it.
@Suite(.serialized) struct QuotaTests {
    static func group(_ name: String, desired: Int) -> String {
        """
        name: \(name)
        provider: process
        size: {desired: \(desired), min: 0, max: 5}
        health: {heartbeatInterval: 500ms, heartbeatTimeout: 30s}
        """
    }

    @Test func aClusterNeverHasMoreNodesThanItsQuota() async throws {
        let dir = try Paths.temporaryDirectory("quota")
        let server = ServerProcess(dataDirectory: dir + "/data")
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        try await server.start()
        try server.cli(["cluster", "quota", "3"])

        func apply(_ name: String, _ desired: Int) async throws -> String {
            try Self.group(name, desired: desired).write(toFile: dir + "/\(name).yaml", atomically: true, encoding: .utf8)
            return try await server.cliWaiting(["group", "apply", "-f", dir + "/\(name).yaml", "--wait", "--timeout", "120"])
        }
        await #expect { try await apply("web", 4) } throws: { "\($0)".contains("cluster default allows 3 nodes") }
        _ = try await apply("web", 2)
        await #expect { try await apply("cache", 2) } throws: { "\($0)".contains("its other groups want 2, so cache may want at most 1, not 2") }
        _ = try await apply("cache", 1)
        var cluster: APICluster = try server.json(["cluster", "get"])
        #expect(cluster.nodeQuota == 3 && cluster.liveNodes == 3)

        // The quota drops below what runs: nothing is terminated for it, but a dead node's replacement is held.
        try server.cli(["cluster", "quota", "2"])
        let victim = try #require(try server.nodes(group: "web").first)
        try server.killNode(victim.id)
        try await eventually("the replacement is held by the quota") {
            try server.events(group: "web").contains { $0.kind == .quotaReached }
        }
        let held = try #require(try server.events(group: "web").first { $0.kind == .quotaReached })
        #expect(held.reason.contains("cluster default is at its node quota (2 of 2 nodes): 1 of 1 creates held"), "\(held.reason)")
        try await eventually("the dead node is gone") { try server.nodes(group: "web").allSatisfy { $0.id != victim.id } }
        #expect(try server.nodes(group: "web").count == 1)
        cluster = try server.json(["cluster", "get"])
        #expect(cluster.liveNodes == 2)

        // Room again: the group returns to its size.
        try server.cli(["cluster", "quota", "none"])
        try await eventually("web is back to 2 healthy nodes") {
            let nodes = try server.nodes(group: "web")
            return nodes.count == 2 && nodes.allSatisfy { $0.state == .healthy }
        }
        #expect { try server.cli(["cluster", "quota", "-1"]) } throws: { _ in true }
        let quotaEvents = try server.cli(["events", "-o", "json"])
        #expect(quotaEvents.contains("node quota set to 3") && quotaEvents.contains("node quota removed"))
    }
}
