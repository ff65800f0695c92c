import Foundation
import KadendeAPI
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Process nodes in network namespaces of their own, joined by veth pairs to a coordinator that itself runs in a
/// namespace this test creates: every address in play belongs to a namespace the test made, and a partition is
/// a real cut. Needs root (CI runs as root); skipped otherwise.
@Suite(.serialized, .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")))
struct NetworkNamespaceTests {
    /// Runs `ip`; with `mountsOf`, inside that process's mount namespace, where the coordinator's
    /// `ip netns add` left the nodes' namespace names (`ip netns exec` gives the coordinator a mount namespace
    /// of its own).
    @discardableResult
    func ip(_ arguments: [String], mountsOf pid: Int32? = nil) throws -> String {
        let process = Process()
        if let pid {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
            process.arguments = ["-t", "\(pid)", "-m", "/usr/sbin/ip"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = arguments
        }
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIError(message: "ip \(arguments.joined(separator: " ")) failed") }
        return String(decoding: data, as: UTF8.self)
    }

    func netns(of pid: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")
    }

    @Test func partitionedNodeIsConvictedAndReplaced() async throws {
        let coordinatorNS = "kadende-test-\(UUID().uuidString.prefix(8).lowercased())"
        try ip(["netns", "add", coordinatorNS])
        try ip(["-n", coordinatorNS, "link", "set", "lo", "up"])
        let dir = try Paths.temporaryDirectory("netns")
        let server = ServerProcess(dataDirectory: dir + "/data", namespace: coordinatorNS)
        server.extraArguments = ["--process-network", "namespaces", "--process-subnet", "10.213.0.0/16"]
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        var nodesSeen: Set<String> = []
        defer {
            server.cleanUp()
            // Normally gone already (the group is deleted below); a failed run may leave stale names.
            for node in nodesSeen { _ = try? ip(["netns", "del", "kadende-\(node)"]) }
            _ = try? ip(["netns", "del", coordinatorNS])
        }
        try await server.start()
        let spec = dir + "/web.yaml"
        try """
            name: web
            provider: process
            size: 2
            health: {heartbeatInterval: 500ms, heartbeatTimeout: 2s}
            """.write(toFile: spec, atomically: true, encoding: .utf8)
        _ = try await server.cliWaiting(["group", "apply", "-f", spec, "--wait", "--timeout", "120"])
        let nodes = try server.nodes(group: "web")
        nodesSeen.formUnion(nodes.map(\.id))
        let agents = try server.agentProcesses()
        #expect(nodes.count == 2 && nodes.allSatisfy { $0.state == .healthy })
        #expect(nodes.allSatisfy { $0.address?.hasPrefix("10.213.") == true }, "nodes are addressed inside their namespaces")
        let namespaces = Set(agents.values.compactMap(netns))
        #expect(namespaces.count == 2, "each agent has a network namespace of its own")
        let serverPID = try #require(server.process?.processIdentifier)
        let serverNS = try #require(netns(of: serverPID))
        #expect(!namespaces.contains(serverNS), "and none shares the coordinator's")

        // Cut one node off: its link goes down inside its namespace; the agent process keeps running.
        let victim = nodes[0].id
        let link = "kdn" + victim.suffix(10)
        try ip(["-n", "kadende-\(victim)", "link", "set", link, "down"], mountsOf: serverPID)
        #expect(isAlive(try #require(agents[victim])), "the agent still runs; only its network is cut")
        try await eventually("the partitioned node replaced") {
            let now = try server.nodes(group: "web")
            nodesSeen.formUnion(now.map(\.id))
            return now.count == 2 && now.allSatisfy { $0.state == .healthy } && !now.contains { $0.id == victim }
        }
        let reasons = try server.events(group: "web").filter { $0.nodeID == victim }.map(\.reason)
        #expect(reasons.contains { $0.contains("→ unhealthy") && $0.contains("no heartbeat") }, "\(reasons)")
        let left = try ip(["netns", "list"], mountsOf: serverPID)
        #expect(left.contains("kadende-\(try #require(nodesSeen.subtracting([victim]).first))"), "the listing sees live nodes' namespaces")
        #expect(!left.contains("kadende-\(victim)"), "the victim's namespace is removed with it")

        try server.cli(["group", "delete", "web"])
        try await eventually("every node of the deleted group destroyed") {
            try server.json(["group", "list"], as: [APIGroup].self).isEmpty
        }
        let remaining = try ip(["netns", "list"], mountsOf: serverPID)
        #expect(!nodesSeen.contains { remaining.contains("kadende-\($0)") }, "deleting the group removes its namespaces")
    }
}
