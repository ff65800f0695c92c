import Foundation
import KadendeAPI
import KadendeModel
import Testing

/// Configuration revisions end to end: real coordinator, real CLI, real agents applying files and commands on
/// their nodes (each under its own directory: the process provider's nodes share this host).
@Suite(.serialized) struct ConfigPushTests {
    static let group = """
        name: web
        provider: process
        size: {desired: 10, min: 1, max: 12}
        health: {heartbeatInterval: 500ms, heartbeatTimeout: 30s}
        """

    static func revision(_ n: Int, batch: Int = 3, bake: String = "500ms", command: String? = nil) -> String {
        """
        message: revision \(n)
        rollout: {batch: \(batch), bake: \(bake), applyTimeout: 60s}
        files:
          - path: /etc/app/app.conf
            template: |
              node={{ node.id }} group={{ node.group }} revision={{ revision }}
            mode: "0640"
          - path: /srv/app/static.txt
            content: "static \(n)"
        environment: {APP_REVISION: "\(n)"}
        commands:
          - name: record
            shell: true
            command: echo "$KADENDE_REVISION $APP_REVISION" >> "$KADENDE_NODE_DIR_LOG"
        \(command.map { "  - name: extra\n    shell: true\n    command: \($0)" } ?? "")
        """
    }

    func appConf(_ server: ServerProcess, _ node: String) -> String {
        (try? String(contentsOfFile: server.nodeRoot(node) + "/etc/app/app.conf", encoding: .utf8)) ?? ""
    }

    func onRevision(_ status: APIConfigStatus, _ revision: Int) -> Bool {
        status.nodes.allSatisfy { $0.revision == revision && $0.outcome == "applied" && $0.desired == revision }
    }

    @Test func revisionsRollOutInBatchesRollBackOnFailureAndReachNewNodes() async throws {
        let dir = try Paths.temporaryDirectory("config")
        let server = ServerProcess(dataDirectory: dir + "/data")
        var restarted: Process?
        defer {
            restarted?.terminate()
            server.cleanUp()
            try? FileManager.default.removeItem(atPath: dir)
        }
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        try await server.start()
        try Self.group.write(toFile: dir + "/web.yaml", atomically: true, encoding: .utf8)
        _ = try await server.cliWaiting(["group", "apply", "-f", dir + "/web.yaml", "--wait", "--timeout", "180"])
        let nodes = try server.nodes(group: "web").map(\.id).sorted()
        #expect(nodes.count == 10)
        // The command's log is per node: the variable is not one Kadende sets, so the revision declares it.
        func revision(_ n: Int, batch: Int = 3, command: String? = nil) -> String {
            Self.revision(n, batch: batch, command: command).replacingOccurrences(of: "\"$KADENDE_NODE_DIR_LOG\"", with: "\"$KADENDE_NODE_ID.log\"")
                .replacingOccurrences(of: "echo", with: "cd \(dir) && echo")
        }

        // Revision 1, then revision 2 in batches of 3: every node acknowledges each.
        try await server.pushWatching(revision(1, batch: 10), group: "web", directory: dir)
        #expect(onRevision(try server.configStatus(group: "web"), 1))
        let output = try await server.pushWatching(revision(2), group: "web", directory: dir)
        #expect(output.contains("succeeded"), "\(output)")
        var status = try server.configStatus(group: "web")
        #expect(onRevision(status, 2), "\(status.nodes.map { "\($0.id) \($0.revision ?? 0) \($0.outcome ?? "-")" })")
        #expect(status.currentRevision == 2)
        for node in nodes {
            #expect(appConf(server, node) == "node=\(node) group=web revision=2\n")
            let attributes = try FileManager.default.attributesOfItem(atPath: server.nodeRoot(node) + "/etc/app/app.conf")
            #expect((attributes[.posixPermissions] as? Int) == 0o640)
            #expect(try String(contentsOfFile: server.nodeRoot(node) + "/srv/app/static.txt", encoding: .utf8) == "static 2")
            // Commands ran once per revision, with the revision's environment.
            #expect(try String(contentsOfFile: dir + "/\(node).log", encoding: .utf8) == "1 1\n2 2\n")
        }
        let events = try server.events(group: "web")
        let batches = events.filter { $0.kind == .configBatch && $0.reason.contains("revision 2 to") }
        #expect(batches.map { $0.reason.components(separatedBy: "to ")[1].components(separatedBy: " (")[0].split(separator: ",").count } == [3, 3, 3, 1],
                "\(batches.map(\.reason))")
        // A batch starts only after the previous one acknowledged and baked.
        let acks = events.filter { $0.kind == .configApplied && $0.reason.hasPrefix("revision 2 applied") }
        #expect(acks.count == 10)
        for (i, batch) in batches.enumerated().dropFirst() {
            let previous = batches[i - 1].reason.components(separatedBy: "to ")[1].components(separatedBy: " (")[0]
                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for node in previous {
                let ack = try #require(acks.first { $0.nodeID == node })
                #expect(ack.seq < batch.seq && batch.at.timeIntervalSince(ack.at) >= 0.5, "batch \(i) began before \(node) baked")
            }
        }

        // Revision 3's command fails on one node: the rollout stops, every node goes back to revision 2, and the
        // failure and its output stay visible.
        let victim = nodes[4]
        let failing = revision(3, command: "test \"$KADENDE_NODE_ID\" != \(victim) || { echo schema migration exploded >&2; exit 3; }")
        await #expect(throws: CLIError.self) { try await server.pushWatching(failing, group: "web", directory: dir) }
        status = try server.configStatus(group: "web")
        #expect(status.rollout?.state == "rolled-back", "\(String(describing: status.rollout))")
        #expect(onRevision(status, 2), "\(status.nodes.map { "\($0.id) \($0.revision ?? 0) \($0.outcome ?? "-")" })")
        let failure = try #require(status.nodes.first { $0.id == victim }?.lastFailure)
        #expect(failure.revision == 3)
        #expect(failure.steps?.contains { $0.step == "command extra" && $0.outcome == .failed && ($0.output ?? "").contains("exit 3: schema migration exploded") } == true)
        let table = try server.cli(["config", "status", "--group", "web"])
        #expect(table.contains("schema migration exploded"), "\(table)")
        for node in nodes { #expect(appConf(server, node) == "node=\(node) group=web revision=2\n") }

        // An agent killed while it applies (its command still running) comes back, reports the interruption, and
        // the node ends on the revision the group runs.
        let slow = revision(4, batch: 10, command: "sleep 4")
        try server.push(slow, group: "web", directory: dir)
        let target = nodes[7]
        try await eventually("node \(target) is applying revision 4") {
            try server.configStatus(group: "web").nodes.first { $0.id == target }?.outcome == "applying"
        }
        let agents = try server.agentProcesses()
        let pid = try #require(agents[target])
        kill(pid, SIGKILL)
        try await eventually("the agent is gone") { !isAlive(pid) }
        // systemd would restart it; here the test does, with the node's own configuration.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.agent)
        process.arguments = ["--config", server.nodeDirectory(target) + "/agent.yaml"]
        process.environment = ["KADENDE_NODE_ID": target]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        restarted = process
        try await eventually("rollout 4 ended") { try server.configStatus(group: "web").rollout?.state != "running" }
        status = try server.configStatus(group: "web")
        let interrupted = try #require(status.nodes.first { $0.id == target }?.lastFailure)
        #expect(interrupted.revision == 4 && (interrupted.message ?? "").contains("interrupted by an agent restart"), "\(interrupted)")
        try await eventually("every node back on revision 2") { onRevision(try server.configStatus(group: "web"), 2) }
        #expect(appConf(server, target) == "node=\(target) group=web revision=2\n")

        // A replacement node starts on the group's current revision.
        let doomed = nodes[0]
        try server.killNode(doomed)
        try await eventually("a replacement is healthy") {
            let live = try server.nodes(group: "web")
            return live.count == 10 && !live.contains { $0.id == doomed } && live.allSatisfy { $0.state == .healthy }
        }
        let replacement = try #require(try server.nodes(group: "web").map(\.id).first { !nodes.contains($0) })
        try await eventually("the replacement acknowledged revision 2") {
            try server.configStatus(group: "web").nodes.first { $0.id == replacement }.map { $0.revision == 2 && $0.outcome == "applied" } ?? false
        }
        #expect(appConf(server, replacement) == "node=\(replacement) group=web revision=2\n")
    }

    @Test func badRevisionsAreRefusedWithNothingApplied() async throws {
        let dir = try Paths.temporaryDirectory("config-bad")
        let server = ServerProcess(dataDirectory: dir + "/data")
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        try await server.start()
        try Self.group.replacingOccurrences(of: "desired: 10", with: "desired: 2").write(toFile: dir + "/web.yaml", atomically: true, encoding: .utf8)
        _ = try await server.cliWaiting(["group", "apply", "-f", dir + "/web.yaml", "--wait", "--timeout", "120"])
        let nodes = try server.nodes(group: "web").map(\.id).sorted()

        func refused(_ yaml: String, group: String = "web", _ expected: String) {
            do {
                try server.push(yaml, group: group, directory: dir)
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
        refused("files:\n  - {path: ../../etc/shadow, content: x}\n", "files[0].path: ../../etc/shadow: must be an absolute path")
        refused("files:\n  - {path: /etc/app/../../etc/shadow, content: x}\n", "\"..\" is not allowed in a path")
        refused("files:\n  - {path: /etc/shadow, content: x}\n", "/etc/shadow may not be written by a push")
        refused("files:\n  - {path: /boot/x, content: x}\n", "outside the allowed roots")
        refused("files:\n  - path: /etc/big\n    content: \"\(String(repeating: "x", count: 300_000))\"\n", "300000 bytes is over the limit of 262144 bytes per file")
        refused("files:\n  - {path: /etc/a.conf, template: \"id={{ node.idd }}\"}\n", "unknown fact \"node.idd\"")
        refused("files:\n  - {path: /etc/a.conf, content: x}\n", group: "nosuch", "group default/nosuch does not exist")
        refused("files:\n  - {path: /etc/a.conf, content: x\n", "malformed_yaml")
        refused("fiels: []\n", "unknown key \"fiels\"")
        refused("commands:\n  - {name: x, command: [true], timeout: 2h}\n", "commands[0].timeout")
        #expect(try server.configStatus(group: "web").latestRevision == nil, "a refused push stores nothing")

        // A symlink on one node that leads out of the allowed roots: that node refuses the whole revision before
        // writing any of it; the rollout stops (no earlier revision to go back to).
        let outside = dir + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: server.nodeRoot(nodes[0]) + "/etc", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: server.nodeRoot(nodes[0]) + "/etc/app", withDestinationPath: outside)
        let escape = """
            rollout: {batch: 1}
            files:
              - {path: /etc/first.conf, content: "first"}
              - {path: /etc/app/app.conf, content: "escaped"}
            """
        await #expect(throws: CLIError.self) { try await server.pushWatching(escape, group: "web", directory: dir) }
        let status = try server.configStatus(group: "web")
        #expect(status.rollout?.state == "failed")
        let failure = try #require(status.nodes.first { $0.id == nodes[0] }?.lastFailure)
        #expect((failure.message ?? "").contains("resolves through a symlink"), "\(failure)")
        #expect((failure.message ?? "").contains("nothing applied"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: server.nodeRoot(nodes[0]) + "/etc/first.conf"), "nothing of the revision was applied")
        #expect(!FileManager.default.fileExists(atPath: server.nodeRoot(nodes[1]) + "/etc/first.conf"), "the second batch never started")
    }

    @Test func targetsNarrowRolloutsAndOperatorsPauseResumeAndAbort() async throws {
        let dir = try Paths.temporaryDirectory("config-target")
        let server = ServerProcess(dataDirectory: dir + "/data")
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        try await server.start()
        try Self.group.replacingOccurrences(of: "desired: 10", with: "desired: 4").write(toFile: dir + "/web.yaml", atomically: true, encoding: .utf8)
        _ = try await server.cliWaiting(["group", "apply", "-f", dir + "/web.yaml", "--wait", "--timeout", "120"])
        let nodes = try server.nodes(group: "web").map(\.id).sorted()
        func file(_ n: Int, _ extra: String = "") -> String {
            "\(extra)\nfiles:\n  - {path: /etc/app.conf, content: \"v\(n)\"}\n"
        }
        func revisions() throws -> [String: Int] {
            Dictionary(uniqueKeysWithValues: try server.configStatus(group: "web").nodes.map { ($0.id, $0.revision ?? 0) })
        }
        try await server.pushWatching(file(1, "rollout: {strategy: all-at-once, bake: 0s}"), group: "web", directory: dir)

        // A label selector, then a named node: only they move; the group's current revision stays.
        try server.cli(["node", "label", nodes[1], "role=canary"])
        try server.cli(["node", "label", nodes[3], "role=canary", "zone=b"])
        try await server.pushWatching(file(2, "target: {selector: role=canary}\nrollout: {bake: 0s}"), group: "web", directory: dir)
        #expect(try revisions() == [nodes[0]: 1, nodes[1]: 2, nodes[2]: 1, nodes[3]: 2])
        try await server.pushWatching(file(3, "target: {selector: \"role=canary,zone!=b\", nodes: [\(nodes[1])]}\nrollout: {bake: 0s}"), group: "web", directory: dir)
        #expect(try revisions() == [nodes[0]: 1, nodes[1]: 3, nodes[2]: 1, nodes[3]: 2])
        var status = try server.configStatus(group: "web")
        #expect(status.currentRevision == 1 && status.latestRevision == 3)

        // Pause after the first batch: it finishes, no other starts; resume finishes the rollout.
        try server.push(file(4, "rollout: {batch: 1, bake: 1s}"), group: "web", directory: dir)
        try server.cli(["config", "pause", "--group", "web"])
        try await eventually("the batch in flight finished") {
            let r = try server.configStatus(group: "web").rollout
            return r?.state == "paused" && r?.progress.map { $0.applying == 0 && $0.baking == 0 } == true
        }
        let batchesWhilePaused = try server.events(group: "web").filter { $0.kind == .configBatch && $0.reason.contains("revision 4 to") }
        #expect(batchesWhilePaused.count == 1, "\(batchesWhilePaused.map(\.reason))")
        #expect(try server.configStatus(group: "web").rollout?.progress?.pending == 3)
        let paused = try server.scrapeMetrics()
        let revision4 = ["cluster": "default", "group": "web", "revision": "4"]
        #expect(paused.value("kadende_rollout_nodes", revision4.merging(["phase": "pending"]) { a, _ in a }) == 3, "\(paused.text)")
        #expect(paused.value("kadende_rollout_nodes", revision4.merging(["phase": "done"]) { a, _ in a }) == 1)
        try server.cli(["config", "resume", "--group", "web"])
        _ = try await server.cliWaiting(["config", "status", "--group", "web", "--watch"])
        #expect(try server.scrapeMetrics().value("kadende_rollout_nodes") == nil, "a finished rollout leaves no series behind")
        #expect(try revisions().values.allSatisfy { $0 == 4 })
        #expect(try server.configStatus(group: "web").currentRevision == 4)

        // Abort: the rollout stops where it is, nothing rolls back.
        try server.push(file(5, "rollout: {batch: 1, bake: 30s}"), group: "web", directory: dir)
        try await eventually("the first node took revision 5") { try revisions().values.contains(5) }
        try server.cli(["config", "abort", "--group", "web"])
        status = try server.configStatus(group: "web")
        #expect(status.rollout?.state == "aborted")
        #expect(try revisions().values.sorted() == [4, 4, 4, 5])
        #expect(status.currentRevision == 4)
        #expect(throws: CLIError.self) { try server.cli(["config", "resume", "--group", "web"]) }

        // A rollback to an earlier revision is a rollout of its own; every push is on the record.
        _ = try await server.cliWaiting(["config", "rollback", "--group", "web", "--to", "1", "--all-at-once", "--bake", "0", "--watch"])
        #expect(try revisions().values.allSatisfy { $0 == 1 })
        let pushes = try server.events(group: "web").filter { $0.kind == .configPushed }
        #expect(pushes.count == 6, "\(pushes.map(\.reason))")
        let diff = try server.cli(["config", "diff", "--group", "web", "1", "4"])
        #expect(diff.contains("  - v1") && diff.contains("  + v4"), "\(diff)")
    }

    @Test func aRevisionWhoseProbesFailIsStoppedByTheHealthGateAndRolledBack() async throws {
        let dir = try Paths.temporaryDirectory("config-gate")
        let server = ServerProcess(dataDirectory: dir + "/data")
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        try await server.start()
        try """
            name: web
            provider: process
            size: {desired: 3, min: 1, max: 5}
            health: {heartbeatInterval: 500ms, heartbeatTimeout: 30s, startupTimeout: 1s}
            """.write(toFile: dir + "/web.yaml", atomically: true, encoding: .utf8)
        _ = try await server.cliWaiting(["group", "apply", "-f", dir + "/web.yaml", "--wait", "--timeout", "120"])
        try await server.pushWatching("rollout: {strategy: all-at-once, bake: 0s}\nfiles:\n  - {path: /etc/app.conf, content: v1}\n",
                                      group: "web", directory: dir)
        // Revision 2 applies cleanly but brings a probe its nodes fail: the first batch never finishes its bake.
        let bad = """
            rollout: {batch: 1, bake: 20s}
            files:
              - {path: /etc/app.conf, content: v2}
            probes:
              - {name: app-ready, exec: {command: [/bin/sh, -c, 'echo not ready; exit 2']}, interval: 500ms, fall: 1}
            """
        await #expect(throws: CLIError.self) { try await server.pushWatching(bad, group: "web", directory: dir) }
        let status = try server.configStatus(group: "web")
        #expect(status.rollout?.state == "rolled-back", "\(String(describing: status.rollout))")
        #expect(status.rollout?.reason.contains("app-ready") == true || status.rollout?.reason.contains("became") == true,
                "the reason names the probe or the node's fall: \(status.rollout?.reason ?? "")")
        try await eventually("every live node on revision 1") {
            let s = try server.configStatus(group: "web")
            return s.nodes.count == 3 && s.nodes.allSatisfy { $0.revision == 1 && $0.outcome == "applied" }
        }
        let batches = try server.events(group: "web").filter { $0.kind == .configBatch && $0.reason.contains("revision 2 to") }
        #expect(batches.count == 1, "only the first batch got the revision: \(batches.map(\.reason))")
    }
}
