import Foundation
import KadendeAPI
import KadendeModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The walking skeleton end to end: a real `kadende server`, the real CLI, real agent processes over mutual TLS.
@Suite(.serialized) struct GroupLifecycleTests {
    static let spec = """
        name: web
        provider: process
        size: {desired: 3, min: 1, max: 5}
        health:
          heartbeatInterval: 500ms
          heartbeatTimeout: 2s
          startupTimeout: 2m
        """

    func startServer(_ label: String) async throws -> (ServerProcess, String) {
        let dir = try Paths.temporaryDirectory(label)
        let server = ServerProcess(dataDirectory: dir + "/data")
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        try await server.start()
        let specPath = dir + "/web.yaml"
        try Self.spec.write(toFile: specPath, atomically: true, encoding: .utf8)
        return (server, specPath)
    }

    @Test func deadNodeIsConvictedTerminatedAndReplaced() async throws {
        let (server, specPath) = try await startServer("replace")
        defer { server.cleanUp() }
        _ = try await server.cliWaiting(["group", "apply", "-f", specPath, "--wait", "--timeout", "120"])
        let before = try server.nodes(group: "web")
        #expect(before.count == 3 && before.allSatisfy { $0.state == .healthy })
        let yaml = try server.cli(["group", "get", "web", "-o", "yaml"])
        #expect(yaml.contains("desired: 3") && yaml.contains("connected: true") && yaml.contains("heartbeatTimeout: 2s"), "\(yaml)")
        let table = try server.cli(["node", "list"])
        #expect(table.split(separator: "\n").count == 4 && table.hasPrefix("NODE"), "\(table)")

        let victim = before[1].id
        let pid = try #require(try server.agentProcesses()[victim])
        let cursor = try server.events(group: "web").last?.seq ?? 0
        try server.killNode(victim)

        try await eventually("group back to 3 healthy nodes without \(victim)") {
            let nodes = try server.nodes(group: "web")
            return nodes.count == 3 && nodes.allSatisfy { $0.state == .healthy && $0.connected } && !nodes.contains { $0.id == victim }
        }
        let events = try server.events(group: "web", after: cursor)
        let victimSteps = events.filter { $0.nodeID == victim }.map(\.reason)
        let convicted = try #require(victimSteps.firstIndex { $0.contains("→ unhealthy") && $0.contains("no heartbeat") },
                                     "the conviction names its reason: \(victimSteps)")
        let terminating = try #require(victimSteps.firstIndex { $0.contains("unhealthy → terminating") })
        let terminated = try #require(victimSteps.firstIndex { $0.contains("terminating → terminated") })
        #expect(convicted < terminating && terminating < terminated)
        // Its replacement was requested, provisioned, enrolled and became healthy, each step an event.
        let replacement = try #require(events.first { $0.kind == .nodeRequested }?.nodeID)
        let steps = events.filter { $0.nodeID == replacement }.map(\.reason)
        for step in ["requested → provisioning", "provisioning → enrolling", "enrolling → healthy"] {
            #expect(steps.contains { $0.contains(step) }, "replacement step \(step) in \(steps)")
        }
        #expect(try server.agentProcesses()[victim] == nil)
        #expect(!isAlive(pid))

        // The same story in /metrics: one replacement, its detection latency, the provider's calls, the fleet now.
        let metrics = try server.scrapeMetrics()
        let web = ["cluster": "default", "group": "web"]
        #expect(metrics.value("kadende_replacements_total", web) == 1, "\(metrics.text)")
        #expect(metrics.value("kadende_detection_latency_seconds_count", web) == 1)
        // Measured from the victim's last heartbeat to its conviction: some silence, and well inside startupTimeout.
        // (How much silence depends on the evidence: the provider seeing the process gone convicts before the
        // heartbeat ceiling, so no lower bound is asserted beyond "after the last heartbeat".)
        let latency = try #require(metrics.value("kadende_detection_latency_seconds_sum", web))
        #expect(latency > 0 && latency < 120, "detection latency \(latency) s")
        #expect(metrics.value("kadende_nodes", web.merging(["state": "healthy"]) { a, _ in a }) == 3)
        try await eventually("the judge has a verdict on the replacement too") {
            try server.scrapeMetrics().value("kadende_node_verdicts", web.merging(["verdict": "healthy"]) { a, _ in a }) == 3
        }
        #expect(metrics.value("kadende_agents_connected") == 3)
        #expect(metrics.value("kadende_provider_call_duration_seconds_count", ["provider": "process", "operation": "create"]) == 4)
        #expect(metrics.value("kadende_provider_call_duration_seconds_count", ["provider": "process", "operation": "destroy"]) == 1)
    }

    @Test func operatorsScaleGroupsAndTerminateNodes() async throws {
        let (server, specPath) = try await startServer("scale")
        defer { server.cleanUp() }
        _ = try await server.cliWaiting(["group", "apply", "-f", specPath, "--wait", "--timeout", "120"])
        let victim = try #require(try server.nodes(group: "web").first)
        let said = try server.cli(["node", "terminate", victim.id])
        #expect(said.contains("terminating: terminated by admin"), "\(said)")
        try await eventually("the terminated node is replaced") {
            let nodes = try server.nodes(group: "web")
            return nodes.count == 3 && !nodes.contains { $0.id == victim.id } && nodes.allSatisfy { $0.state == .healthy }
        }
        #expect(throws: CLIError.self) { try server.cli(["node", "terminate", victim.id]) }

        #expect(try server.cli(["group", "scale", "web", "4"]).contains("scaled to 4"))
        try await eventually("4 healthy nodes") {
            let nodes = try server.nodes(group: "web")
            return nodes.count == 4 && nodes.allSatisfy { $0.state == .healthy }
        }
        #expect { try server.cli(["group", "scale", "web", "99"]) } throws: { "\($0)".contains("outside min") }
        let audit = try server.cli(["audit"])
        #expect(audit.contains("node.terminate") && audit.contains("group.scale"), "\(audit)")
    }

    @Test func coordinatorKilledAndRestartedKeepsTheSameNodes() async throws {
        let (server, specPath) = try await startServer("restart")
        defer { server.cleanUp() }
        _ = try await server.cliWaiting(["group", "apply", "-f", specPath, "--wait", "--timeout", "120"])
        let before = Set(try server.nodes(group: "web").map(\.id))
        let agents = try server.agentProcesses()
        #expect(before.count == 3 && Set(agents.keys) == before)

        server.kill9()
        #expect(agents.values.allSatisfy(isAlive), "agents outlive their coordinator, as machines would")
        try await server.start()
        let restartCursor = try server.events(group: "web").last?.seq ?? 0

        try await eventually("every agent reconnected to the restarted coordinator") {
            let nodes = try server.nodes(group: "web")
            return nodes.count == 3 && nodes.allSatisfy { $0.connected && $0.state == .healthy }
        }
        #expect(Set(try server.nodes(group: "web").map(\.id)) == before, "the same nodes, no duplicates")
        #expect(try server.agentProcesses() == agents, "no orphan and no second process")
        #expect(agents.values.allSatisfy(isAlive))
        let since = try server.events(group: "web", after: restartCursor)
        #expect(!since.contains { $0.kind == .nodeRequested || $0.reason.contains("→ unhealthy") }, "nothing replaced: \(since)")
        #expect(try server.events(group: "web").filter { $0.kind == .nodeRequested }.count == 3)
    }

    @Test func badSpecsAreRefusedWithTheirPathAndLineAndChangeNothing() async throws {
        let (server, specPath) = try await startServer("badspec")
        defer { server.cleanUp() }
        let dir = (specPath as NSString).deletingLastPathComponent
        let unknown = dir + "/unknown.yaml"
        try Self.spec.replacingOccurrences(of: "heartbeatTimeout", with: "heartbeatTimout").write(toFile: unknown, atomically: true, encoding: .utf8)
        let outside = dir + "/outside.yaml"
        try Self.spec.replacingOccurrences(of: "desired: 3", with: "desired: 9").write(toFile: outside, atomically: true, encoding: .utf8)
        let provider = dir + "/provider.yaml"
        try Self.spec.replacingOccurrences(of: "provider: process", with: "provider: nimbus").write(toFile: provider, atomically: true, encoding: .utf8)

        let reserved = dir + "/reserved.yaml"
        try (Self.spec + "\nbootstrap:\n  files:\n    - {path: /etc/kadende/agent.yaml, content: x}\n").write(toFile: reserved, atomically: true, encoding: .utf8)
        let oversized = dir + "/oversized.yaml"
        try (Self.spec + "\nbootstrap:\n  files:\n    - {path: /etc/big, content: \(String(repeating: "x", count: 17_000))}\n").write(toFile: oversized, atomically: true, encoding: .utf8)

        for (file, expected) in [(unknown, "unknown_key at health.heartbeatTimout (line 6)"),
                                 (reserved, "invalid_bootstrap at bootstrap.files[0].path"),
                                 (oversized, "user_data_too_large at bootstrap"),
                                 (outside, "bad_value at size.desired"),
                                 (provider, "unknown_provider at provider")] {
            do {
                try server.cli(["group", "apply", "-f", file])
                Issue.record("\(file) was accepted")
            } catch let error as CLIError {
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
        #expect(try server.json(["group", "list"], as: [APIGroup].self).isEmpty)
        #expect(try server.json(["events"], as: [APIEvent].self).isEmpty)
    }

    @Test func serverWhosePortsAreTakenSaysSoAndExits() async throws {
        let (first, _) = try await startServer("ports-a")
        defer { first.cleanUp() }
        let dir = try Paths.temporaryDirectory("ports-b")
        let second = ServerProcess(dataDirectory: dir)
        defer { second.cleanUp() }
        second.usePorts(of: first)
        await #expect(throws: CLIError.self) { try await second.start() }
        #expect(second.exitStatus != 0)
        let log = try String(contentsOfFile: dir + "/server.log", encoding: .utf8)
        #expect(log.contains("Address already in use"), "\(log)")
    }
}
