import Foundation
import KadendeAPI
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Health end to end: a real coordinator, real agents and real workloads, each node in a network namespace of its
/// own (`NamespacedServer`). Failures are real: processes killed, links cut, packets dropped by nft. Nothing here
/// waits for luck: every wait is for an event or a state, bounded by `eventually`'s limit.
@Suite(.serialized, .enabled(if: NamespacedServer.available))
struct HealthTests {
    /// A group whose nodes serve HTTP on 8080 (the workload) and are probed there by the coordinator.
    static func served(_ name: String, size: Int, agentGrace: String = "2m") -> String {
        """
        name: \(name)
        provider: process
        size: \(size)
        health:
          heartbeatInterval: 500ms
          heartbeatTimeout: 3s
          agentGrace: \(agentGrace)
          external:
            - name: http
              http: {port: 8080, path: /}
              interval: 500ms
              timeout: 400ms
              fall: 2
        bootstrap:
          commands: ["exec python3 -m http.server 8080"]
        """
    }

    func transitions(_ s: NamespacedServer, _ group: String, node: String, after: Int64 = 0) throws -> [String] {
        try s.server.events(group: group, after: after).filter { $0.nodeID == node && $0.kind == .nodeTransition }.map(\.reason)
    }

    func waitServing(_ s: NamespacedServer, _ group: String, count: Int) async throws {
        try await eventually("\(count) nodes of \(group) healthy and answering their external probe") {
            let nodes = try s.nodes(group)
            guard nodes.count == count, nodes.allSatisfy({ $0.state == .healthy && $0.connected }) else { return false }
            return try nodes.allSatisfy { try s.node($0.id).external.first?.status == .passing }
        }
    }

    @Test func agentDownNodeServingIsSuspectRestartedAndOnlyReplacedAfterItsGrace() async throws {
        let s = try NamespacedServer("agent-down")
        defer { s.cleanUp() }
        try await s.start()
        try await s.apply(Self.served("web", size: 2, agentGrace: "6s"))
        try await waitServing(s, "web", count: 2)
        let victim = try s.nodes("web")[0].id
        let cursor = try s.server.events(group: "web").last?.seq ?? 0

        // Only the agent dies; python keeps serving.
        kill(try #require(try s.server.agentProcesses()[victim]), SIGKILL)
        try await eventually("the agent restarted through the provider and the node healthy again") {
            let events = try s.server.events(group: "web", after: cursor)
            let back = try s.nodes("web").first { $0.id == victim }?.state == .healthy
            return back && events.contains { $0.nodeID == victim && $0.kind == .agentRestarted }
        }
        let steps = try transitions(s, "web", node: victim, after: cursor)
        #expect(steps.contains { $0.contains("healthy → suspect") }, "\(steps)")
        let restart = try #require(try s.server.events(group: "web", after: cursor).first { $0.kind == .agentRestarted })
        #expect(restart.reason.contains("agent down, node serving") && restart.reason.contains("every external probe passes"), "\(restart.reason)")
        #expect(!steps.contains { $0.contains("→ unhealthy") }, "a serving node is not convicted for its agent: \(steps)")

        // Now the agent cannot come back: its configuration is gone, so each restart exits at once.
        try FileManager.default.removeItem(atPath: s.server.dataDirectory + "/process/nodes/\(victim)/agent.yaml")
        let second = try s.server.events(group: "web").last?.seq ?? 0
        let killedAt = Date()
        kill(try #require(try s.server.agentProcesses()[victim]), SIGKILL)
        try await eventually("the node replaced once its agent grace is over") {
            try !s.nodes("web").contains { $0.id == victim } && s.nodes("web").count == 2
        }
        let events = try s.server.events(group: "web", after: second).filter { $0.nodeID == victim }
        let conviction = try #require(events.first { $0.reason.contains("→ unhealthy") })
        #expect(conviction.reason.contains("agent grace 6s is over"), "\(conviction.reason)")
        // Silence counts from the last heartbeat, at most one interval (0.5 s) before the kill.
        #expect(conviction.at.timeIntervalSince(killedAt) >= 5.5, "not replaced before its grace: \(conviction.at) vs kill at \(killedAt)")
    }

    @Test func deadOrCutOffNodesAreReplacedAndNodeGetShowsEverySignal() async throws {
        let s = try NamespacedServer("dead-node")
        defer { s.cleanUp() }
        try await s.start()
        try await s.apply(Self.served("web", size: 3))
        try await waitServing(s, "web", count: 3)
        let nodes = try s.nodes("web")

        // node get: every signal, the verdict and its reason.
        let detail = try s.node(nodes[2].id)
        #expect(detail.verdict == "healthy" && detail.provider == "running" && detail.connected)
        #expect(detail.heartbeats.samples > 0 && detail.heartbeats.phi < detail.heartbeats.phiThreshold)
        #expect(detail.external.map(\.name) == ["http"] && detail.external[0].output?.contains("HTTP 200") == true)
        let table = try s.server.cli(["node", "get", nodes[2].id])
        for label in ["verdict", "heartbeat", "φ", "external http", "provider says running"] {
            #expect(table.contains(label), "node get shows \(label): \(table)")
        }

        // The whole node dies (agent and workload).
        var cursor = try s.server.events(group: "web").last?.seq ?? 0
        try s.server.killNode(nodes[0].id)
        try await eventually("the dead node replaced") { try !s.nodes("web").contains { $0.id == nodes[0].id } }
        let dead = try transitions(s, "web", node: nodes[0].id, after: cursor)
        #expect(dead.contains { $0.contains("→ unhealthy") && $0.contains("no heartbeat")
            && ($0.contains("external probe http failing") || $0.contains("provider reports the instance stopped")) }, "\(dead)")

        // Another is cut off by an nft rule dropping everything into its namespace; its processes live on.
        cursor = try s.server.events(group: "web").last?.seq ?? 0
        try s.setDropRule(nodes[1].id, on: true)
        try await eventually("the cut-off node replaced") { try !s.nodes("web").contains { $0.id == nodes[1].id } }
        let cut = try transitions(s, "web", node: nodes[1].id, after: cursor)
        #expect(cut.contains { $0.contains("→ unhealthy") && $0.contains("external probe http failing") }, "\(cut)")
        try await waitServing(s, "web", count: 3)
        #expect(try s.nodes("web").contains { $0.id == nodes[2].id }, "the healthy node was left alone")
    }

    @Test func aProbeThatFlapsWithinItsThresholdsReplacesNothing() async throws {
        let s = try NamespacedServer("flap")
        defer { s.cleanUp() }
        try await s.start()
        let counter = s.directory + "/flap-count"
        // Fails (exit 2: critical, not a warning) every third run: never two failures in a row, and fall is 2.
        try await s.apply("""
            name: flap
            provider: process
            size: 1
            health:
              heartbeatInterval: 500ms
              startupTimeout: 2s
              probes:
                - name: flaky
                  exec: {command: "n=$(cat \(counter) 2>/dev/null || echo 0); echo $((n+1)) > \(counter); [ $((n % 3)) -ne 0 ] || exit 2", shell: true}
                  interval: 200ms
                  fall: 2
            """)
        // The control: the same thresholds, a probe that always fails.
        try await s.apply("""
            name: broken
            provider: process
            size: 1
            health:
              heartbeatInterval: 500ms
              startupTimeout: 2s
              probes:
                - name: always-fails
                  exec: {command: [/bin/sh, -c, "echo no such service; exit 2"]}
                  interval: 200ms
                  fall: 2
            remediation:
              crashLoop: {backoff: 1m}
            """)
        let flapper = try #require(try s.nodes("flap").first?.id)
        let broken = try #require(try s.nodes("broken").first?.id)
        try await eventually("the flaky probe ran 40 times, well past the startup timeout") {
            (try? String(contentsOfFile: counter, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0 >= 40
        }
        try await eventually("the always-failing node convicted for its probe") {
            try transitions(s, "broken", node: broken).contains { $0.contains("→ unhealthy") && $0.contains("probe always-fails critical: exit 2: no such service") }
        }
        #expect(try transitions(s, "flap", node: flapper).allSatisfy { !$0.contains("→ unhealthy") && !$0.contains("→ suspect") },
                "flapping within thresholds changes nothing")
        #expect(try s.nodes("flap").map(\.id) == [flapper])
        let probe = try #require(try s.node(flapper).probes.first)
        #expect(probe.name == "flaky" && probe.status == .passing)
    }

    @Test func aCircuitBreakerHoldsWhenMostOfAGroupIsCutOffAndClosesWhenItHeals() async throws {
        let s = try NamespacedServer("breaker")
        defer { s.cleanUp() }
        try await s.start()
        try await s.apply("""
            name: web
            provider: process
            size: 5
            health: {heartbeatInterval: 500ms, heartbeatTimeout: 2s}
            remediation: {breakerSettle: 15s}
            """)
        let nodes = try s.nodes("web").map(\.id)
        #expect(nodes.count == 5)
        let cursor = try s.server.events(group: "web").last?.seq ?? 0
        let cut = Array(nodes.prefix(3))
        for node in cut { try s.setLink(node, up: false) }

        try await eventually("the breaker opened and every cut node's conviction is held") {
            let events = try s.server.events(group: "web", after: cursor)
            return events.contains { $0.kind == .breakerOpened && $0.reason.hasPrefix("ALERT") }
                && Set(events.filter { $0.kind == .convictionHeld }.compactMap(\.nodeID)) == Set(cut)
        }
        let detail: APIGroupDetail = try s.server.json(["group", "get", "web"])
        #expect(detail.safety?.breaker?.contains("3 of 5") == true, "\(String(describing: detail.safety))")
        #expect(try s.server.cli(["group", "get", "web"]).contains("OPEN"))
        #expect(try s.metrics().contains("kadende_group_breaker_open{cluster=\"default\",group=\"web\"} 1.0"))
        #expect(Set(try s.nodes("web").map(\.id)) == Set(nodes), "nothing terminated, nothing created")

        for node in cut { try s.setLink(node, up: true) }
        try await eventually("the group healed and the breaker closed") {
            let events = try s.server.events(group: "web", after: cursor)
            let healed = try s.nodes("web").allSatisfy { $0.state == .healthy }
            return healed && events.contains { $0.kind == .breakerClosed }
        }
        let events = try s.server.events(group: "web", after: cursor)
        #expect(!events.contains { $0.reason.contains("→ unhealthy") || $0.reason.contains("→ terminating") }, "\(events.map(\.reason))")
        #expect(Set(try s.nodes("web").map(\.id)) == Set(nodes))
        let metrics = try s.metrics()
        #expect(metrics.contains("kadende_group_breaker_open{cluster=\"default\",group=\"web\"} 0.0"), "\(metrics)")
        #expect(metrics.contains("kadende_nodes{cluster=\"default\",group=\"web\",state=\"healthy\"} 5.0"), "\(metrics)")
    }

    @Test func aNodeThatDiesSoonAfterEveryStartBacksOffWithinItsBudget() async throws {
        let s = try NamespacedServer("crash-loop")
        defer { s.cleanUp() }
        try await s.start()
        // The workload kills its whole node two seconds after every start.
        try await s.apply("""
            name: crashy
            provider: process
            size: 1
            health: {heartbeatInterval: 500ms, heartbeatTimeout: 3s}
            remediation:
              budget: {replacements: 3, per: 10m}
              crashLoop: {minUptime: 1m, backoff: 2s, maxBackoff: 1m}
            bootstrap:
              commands: ["sleep 2; kill -9 0"]
            """, wait: false)
        try await eventually("three replacements, then the budget holds the fourth") {
            try s.server.events(group: "crashy").contains { $0.kind == .convictionHeld && $0.reason.contains("replacement budget spent") }
        }
        let events = try s.server.events(group: "crashy")
        let convictions = events.filter { $0.reason.contains("→ unhealthy") }
        #expect(convictions.count == 3, "the budget is respected: \(convictions.map(\.reason))")
        let backoffs = events.filter { $0.kind == .crashLoopBackoff }.map(\.reason)
        let streaks = backoffs.compactMap { Int($0.prefix { $0.isNumber }) }
        #expect(streaks == [2, 3], "the backoff grows with each young death after the first: \(backoffs)")
        // The first death is replaced at once, the second after 2 s, the third after 4 s.
        let requests = events.filter { $0.kind == .nodeRequested }
        #expect(requests.count == 4)
        for (i, conviction) in convictions.enumerated().dropFirst() where i + 1 < requests.count {
            let wait = requests[i + 1].at.timeIntervalSince(conviction.at)
            #expect(wait >= 2 * pow(2, Double(i - 1)) - 0.1, "replacement \(i + 1) waited \(wait)s")
        }
    }

    @Test func aNodeThatNeverEnrolsFailsAfterItsStartupTimeoutAndIsReplaced() async throws {
        // Tokens that expire before any agent can use them: no node can enrol.
        let s = try NamespacedServer("never-enrols", extraArguments: ["--enrolment-token-lifetime", "1ms"])
        defer { s.cleanUp() }
        try await s.start()
        try await s.apply("""
            name: stuck
            provider: process
            size: 1
            health: {startupTimeout: 3s}
            remediation:
              crashLoop: {backoff: 1s}
            """, wait: false)
        try await eventually("the first node failed and a replacement was requested") {
            try s.server.events(group: "stuck").filter { $0.kind == .nodeRequested }.count >= 2
        }
        let events = try s.server.events(group: "stuck")
        let first = try #require(events.first { $0.kind == .nodeRequested }?.nodeID)
        #expect(events.contains { $0.nodeID == first && $0.reason.contains("→ failed: did not enrol within the startup timeout 3s") },
                "\(events.map(\.reason))")
    }

    @Test func afterACoordinatorRestartNobodyIsConvictedDuringTheGrace() async throws {
        let s = try NamespacedServer("restart-grace", extraArguments: ["--restart-grace", "5s"])
        defer { s.cleanUp() }
        try await s.start()
        try await s.apply("""
            name: web
            provider: process
            size: 2
            health: {heartbeatInterval: 500ms, heartbeatTimeout: 2s}
            """)
        let nodes = try s.nodes("web").map(\.id)
        s.server.kill9()
        // A node dies while no coordinator watches.
        try s.server.killNode(nodes[0])
        let restartedAt = Date()
        try await s.start()
        // The first pass runs at once; the grace lasts 5 s.
        try await eventually("the group shows its convictions held", limit: .seconds(4)) {
            let detail: APIGroupDetail = try s.server.json(["group", "get", "web"])
            return detail.safety?.held?.contains("nobody is convicted before") == true
        }
        try await eventually("the dead node replaced after the grace") { try !s.nodes("web").contains { $0.id == nodes[0] } }
        let events = try s.server.events(group: "web").filter { $0.nodeID == nodes[0] }
        let conviction = try #require(events.first { $0.reason.contains("→ unhealthy") })
        #expect(conviction.at.timeIntervalSince(restartedAt) >= 5, "convicted \(conviction.at.timeIntervalSince(restartedAt))s after the restart")
        #expect(try s.nodes("web").contains { $0.id == nodes[1] }, "the live node survived the restart")
    }
}
