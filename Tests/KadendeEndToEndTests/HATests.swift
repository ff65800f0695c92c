import Foundation
import KadendeAPI
import KadendeModel
import KadendeSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Coordinator replicas on a real PostgreSQL (started by `scripts/test`), with nodes on the example provider plugin,
/// whose machines (agent processes) and state live outside any coordinator, as a cloud's would: an owner killed
/// with -9 is replaced by another replica without replacing a node, a paused owner is fenced off, agents leave a
/// replica that hangs, and PostgreSQL restarted in the middle of a reconcile loses and duplicates nothing.
@Suite(.serialized, .timeLimit(.minutes(5))) struct HATests {
    static func group(_ name: String, desired: Int) -> String {
        """
        name: \(name)
        provider: local
        size: {desired: \(desired), min: 0, max: 8}
        health: {heartbeatInterval: 500ms, heartbeatTimeout: 4s}
        """
    }

    struct PluginInstance: Decodable { var id: String; var pid: Int32; var state: String?; var tags: [String: String] }
    struct PluginState: Decodable { var instances: [PluginInstance] }

    func instances(_ dir: String, group: String) -> [PluginInstance] {
        guard let data = FileManager.default.contents(atPath: dir + "/plugin/instances.json"),
              let state = try? JSONDecoder().decode(PluginState.self, from: data) else { return [] }
        return state.instances.filter { $0.tags[InstanceTag.group] == group }
    }

    /// Replicas on the example plugin provider, whose state (`dir/plugin`) they share.
    func replicas(_ count: Int, _ dir: String, failpoint: String? = nil) throws -> Replicas? {
        try FileManager.default.createDirectory(atPath: dir + "/plugin", withIntermediateDirectories: true)
        return try Replicas.make(count, directory: dir) { server in
            server.extraArguments += ["--provider-plugin", "local=" + Paths.root.appendingPathComponent("examples/plugins/kadende-local-plugin").path]
            server.environment = ["KADENDE_LOCAL_PLUGIN_DIR": dir + "/plugin", "KADENDE_AGENT_PATH": Paths.agent]
            if let failpoint { server.environment["KADENDE_FAILPOINT"] = failpoint }
        }
    }

    func cleanUp(_ replicas: Replicas, _ dir: String) {
        replicas.cleanUp()
        if let data = FileManager.default.contents(atPath: dir + "/plugin/instances.json"),
           let state = try? JSONDecoder().decode(PluginState.self, from: data) {
            for instance in state.instances { kill(-instance.pid, SIGKILL) }
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func apply(_ server: ServerProcess, _ dir: String, _ name: String, desired: Int) async throws {
        try Self.group(name, desired: desired).write(toFile: "\(dir)/\(name).yaml", atomically: true, encoding: .utf8)
        _ = try await server.cliWaiting(["group", "apply", "-f", "\(dir)/\(name).yaml", "--wait", "--timeout", "120"])
    }

    @Test func anOwnerKilledWithSIGKILLIsReplacedByAnotherReplicaWithoutReplacingANode() async throws {
        let dir = try Paths.temporaryDirectory("ha-kill")
        guard let replicas = try replicas(2, dir) else { return }
        defer { cleanUp(replicas, dir) }
        try await replicas.startAll()
        // Two groups, two replicas: each owns one, whichever took which first (fair shares, not who got the apply).
        try await apply(replicas.servers[0], dir, "api", desired: 2)
        try await apply(replicas.servers[0], dir, "web", desired: 3)
        var webOwner: String?
        try await eventually("each replica owns one group") {
            let web = try replicas.owner(of: "web", asking: replicas.servers[0])
            let api = try replicas.owner(of: "api", asking: replicas.servers[0])
            webOwner = web
            return web != nil && api != nil && web != api
        }
        let victim = try #require(webOwner.flatMap { replicas.server(named: $0) })
        let survivor = try #require(replicas.servers.first { $0 !== victim })
        let survivorName = try #require(survivor.dataDirectory.split(separator: "/").last.map(String.init))
        try await eventually("web is healthy under its owner") {
            let nodes = try victim.nodes(group: "web")
            return nodes.count == 3 && nodes.allSatisfy { $0.state == .healthy }
        }
        let before = Set(try survivor.nodes(group: "web").map(\.id))
        let cursor = try survivor.events(group: "web").last?.seq ?? 0
        let term = try #require(try survivor.events(group: "web").last { $0.kind == .ownerChanged }?.reason
            .split(separator: "(term ").last?.split(separator: ")").first.flatMap { Int($0) })

        // The owner of web dies as a power cut would: the other replica takes web over once its lease runs out.
        victim.kill9()
        try await eventually("\(survivorName) owns web", limit: .seconds(60)) { try replicas.owner(of: "web", asking: survivor) == survivorName }
        let takeover = try #require(try survivor.events(group: "web", after: cursor).last { $0.kind == .ownerChanged })
        #expect(takeover.reason.contains("(term \(term + 1))"), "a new term fences the dead owner off: \(takeover.reason)")

        // Past the failover grace, with every agent heard again (through either replica): the same nodes, healthy.
        try await expectNoNodeReplaced(in: "web", judgedBy: survivor, since: cursor, nodes: before, dir: dir)
    }

    /// Past any failover grace, `server` judges the group's nodes, still `nodes`, healthy and connected; since
    /// `cursor` nothing was requested, convicted or unhealthy, and there are as many machines as nodes.
    func expectNoNodeReplaced(in group: String, judgedBy server: ServerProcess, since cursor: Int64, nodes: Set<String>,
                              dir: String) async throws {
        try await eventually("past any failover grace, every \(group) node is judged healthy", limit: .seconds(90)) {
            let detail: APIGroupDetail = try server.json(["group", "get", group])
            return detail.safety != nil && detail.safety?.held == nil && detail.nodes.count == nodes.count
                && detail.nodes.allSatisfy { $0.state == .healthy && $0.verdict == "healthy" && $0.connected }
        }
        #expect(Set(try server.nodes(group: group).map(\.id)) == nodes, "no node replaced")
        let after = try server.events(group: group, after: cursor)
        #expect(!after.contains { $0.kind == .nodeRequested || $0.kind == .nodeConvicted || $0.reason.contains("→ unhealthy") },
                "\(after.map(\.reason))")
        #expect(instances(dir, group: group).count == nodes.count)
    }

    @Test func aPushReachesAgentsConnectedToAReplicaThatDoesNotOwnTheirGroup() async throws {
        let dir = try Paths.temporaryDirectory("ha-push")
        guard let replicas = try replicas(2, dir) else { return }
        defer { cleanUp(replicas, dir) }
        try await replicas.startAll()
        let first = replicas.servers[0]
        try await apply(first, dir, "api", desired: 2)
        try await apply(first, dir, "web", desired: 2)
        try await eventually("each replica owns one group") {
            let (web, api) = (try replicas.owner(of: "web", asking: first), try replicas.owner(of: "api", asking: first))
            return web != nil && api != nil && web != api
        }
        // Agents dial the first endpoint they are given, replica-1's: every agent of the group replica-2 owns is
        // connected to the replica that does not own it, which hears the push only through the store.
        let group = try replicas.owner(of: "web", asking: first) == "replica-2" ? "web" : "api"
        let output = try await first.pushWatching("rollout: {strategy: all-at-once, bake: 0s}\nfiles:\n  - {path: /etc/app.conf, content: \"v1\"}\n",
                                                  group: group, directory: dir)
        #expect(output.contains("succeeded"), "\(output)")
        let status = try first.configStatus(group: group)
        #expect(status.nodes.count == 2 && status.nodes.allSatisfy { $0.revision == 1 && $0.outcome == "applied" },
                "\(status.nodes.map { "\($0.id) \($0.revision ?? 0) \($0.outcome ?? "-")" })")
    }

    @Test func theLiveEventStreamOfAnyReplicaCarriesEveryReplicasEvents() async throws {
        let dir = try Paths.temporaryDirectory("ha-events")
        guard let replicas = try replicas(2, dir) else { return }
        defer { cleanUp(replicas, dir) }
        try await replicas.startAll()
        let (first, second) = (replicas.servers[0], replicas.servers[1])
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sN", "-H", "Authorization: Bearer \(first.token ?? "")", first.url + "/v1/events/stream"]
        let file = dir + "/stream.txt"
        FileManager.default.createFile(atPath: file, contents: nil)
        curl.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try curl.run()
        // SIGKILL: children of the test process inherit its ignored SIGTERM.
        defer { kill(curl.processIdentifier, SIGKILL) }
        // Once the stream shows a group applied through the first replica, it is live (it subscribes before it reads
        // the backlog): what comes after can only come live.
        try Self.group("here", desired: 0).write(toFile: dir + "/here.yaml", atomically: true, encoding: .utf8)
        try first.cli(["group", "apply", "-f", dir + "/here.yaml"])
        try await eventually("the stream is live") { (try String(contentsOfFile: file, encoding: .utf8)).contains("\"group\":\"here\"") }
        // Applied through the second replica: it writes the event; the first streams it from the store.
        try Self.group("elsewhere", desired: 0).write(toFile: dir + "/elsewhere.yaml", atomically: true, encoding: .utf8)
        try second.cli(["group", "apply", "-f", dir + "/elsewhere.yaml"])
        // The first replica may write events of that group too (it may take its lease): the one awaited is the apply.
        func applied(_ group: String) throws -> Bool {
            try String(contentsOfFile: file, encoding: .utf8).components(separatedBy: "\n\n")
                .contains { $0.contains("event: group.applied\n") && $0.contains("\"group\":\"\(group)\"") }
        }
        try await eventually("the other replica's event streams", limit: .seconds(30)) { try applied("elsewhere") }
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let seqs = text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int64($0.dropFirst(4)) }
        #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count, "in the store's order, each once: \(seqs)")
    }

    @Test func aPausedOwnerIsFencedOffWhenItResumes() async throws {
        let dir = try Paths.temporaryDirectory("ha-pause")
        guard let replicas = try replicas(2, dir) else { return }
        defer { cleanUp(replicas, dir) }
        let (first, second) = (replicas.servers[0], replicas.servers[1])
        // The first replica stops itself (SIGSTOP) just before it writes a new node's intent, after it checked its lease.
        first.environment["KADENDE_FAILPOINT"] = "before-intent:stop"
        try await replicas.start(first)
        try "name: web\nprovider: local\nsize: {desired: 1, min: 0, max: 8}\nhealth: {heartbeatInterval: 500ms, heartbeatTimeout: 4s}\n"
            .write(toFile: dir + "/web.yaml", atomically: true, encoding: .utf8)
        try first.cli(["group", "apply", "-f", dir + "/web.yaml"])
        try await eventually("the owner stopped before writing") { first.isStopped }
        try await replicas.start(second)

        // The second replica takes web once the paused owner's lease has run out, and makes the node itself.
        try await eventually("replica-2 owns web", limit: .seconds(60)) { try replicas.owner(of: "web", asking: second) == "replica-2" }
        try await eventually("web has its node", limit: .seconds(120)) {
            let nodes = try second.nodes(group: "web")
            return nodes.count == 1 && nodes.allSatisfy { $0.state == .healthy }
        }
        // The paused owner resumes in the middle of its write: the store refuses it.
        let log = first.dataDirectory + "/server.log"
        kill(first.process!.processIdentifier, SIGCONT)
        try await eventually("the resumed owner's write is fenced off") {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("no longer holds group default/web")
        }
        let nodes = try second.nodes(group: "web")
        #expect(nodes.count == 1, "the fenced write made no second node: \(nodes.map(\.id))")
        #expect(instances(dir, group: "web").count == 1, "and no second machine")
        let requested = try second.events(group: "web").filter { $0.kind == .nodeRequested }
        #expect(requested.count == 1, "nothing of the fenced intent is in the store: \(requested.map(\.reason))")
    }

    @Test func agentsLeaveAStoppedReplicaForAnotherAndNoNodeIsReplaced() async throws {
        let dir = try Paths.temporaryDirectory("ha-stopped")
        guard let replicas = try replicas(2, dir) else { return }
        defer { cleanUp(replicas, dir) }
        // Agents leave a replica they have not heard from for 1.5 s.
        for server in replicas.servers { server.extraArguments += ["--agent-keep-alive", "500ms"] }
        try await replicas.startAll()
        let (first, second) = (replicas.servers[0], replicas.servers[1])
        try await apply(first, dir, "web", desired: 2)
        // Agents dial the first endpoint they are given: both talk to replica-1.
        try await eventually("web's agents are connected to replica-1") {
            let detail: APIGroupDetail = try first.json(["group", "get", "web"])
            return detail.nodes.count == 2 && detail.nodes.allSatisfy { $0.state == .healthy && $0.connected }
        }
        let before = Set(try second.nodes(group: "web").map(\.id))
        let cursor = try second.events(group: "web").last?.seq ?? 0

        // replica-1 hangs: its TCP connections stay open and the kernel takes the agents' heartbeats, which nobody
        // reads. Without a word from it, the agents go to replica-2.
        let pid = try #require(first.process?.processIdentifier)
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }  // before the clean-up, which a stopped process would not answer
        try await eventually("replica-1 is stopped") { first.isStopped }
        try await eventually("replica-2 owns web and both agents are connected to it", limit: .seconds(60)) {
            let detail: APIGroupDetail = try second.json(["group", "get", "web"])
            return try replicas.owner(of: "web", asking: second) == "replica-2" && detail.nodes.count == 2 && detail.nodes.allSatisfy(\.connected)
        }
        try await expectNoNodeReplaced(in: "web", judgedBy: second, since: cursor, nodes: before, dir: dir)
    }

    @Test func postgreSQLRestartedInTheMiddleOfAReconcileLosesAndDuplicatesNothing() async throws {
        let dir = try Paths.temporaryDirectory("ha-pg-restart")
        guard let replicas = try replicas(1, dir) else { return }
        defer { cleanUp(replicas, dir) }
        let environment = ProcessInfo.processInfo.environment
        let control = try #require(environment["KADENDE_TEST_POSTGRES_CTL"]), data = try #require(environment["KADENDE_TEST_POSTGRES_DATA"])
        let server = replicas.servers[0]
        // The coordinator holds one create right after it wrote the node's intent and before it calls the provider
        // (the other creates of the pass go on): a reconcile in the middle of its writes.
        let release = dir + "/release"
        server.environment["KADENDE_FAILPOINT"] = "after-intent:hold=" + release
        try await replicas.startAll()
        try "name: web\nprovider: local\nsize: {desired: 3, min: 0, max: 8}\nhealth: {heartbeatInterval: 500ms, heartbeatTimeout: 4s}\n"
            .write(toFile: dir + "/web.yaml", atomically: true, encoding: .utf8)
        try server.cli(["group", "apply", "-f", dir + "/web.yaml"])
        try await eventually("a create is held after its intent") {
            try server.events(group: "web").contains { $0.kind == .nodeTransition && $0.reason.contains("requested → provisioning") }
        }

        // PostgreSQL restarts under it: every connection it had is gone when it resumes.
        // posix_spawn and waitpid: Foundation's Process never saw this child exit (pg_ctl leaves the new server behind).
        let status = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try Spawn.run("/bin/sh", ["-c", "\(control) -D '\(data)' -m fast -w -t 60 restart > /dev/null 2>&1"]) })
            }
        }
        #expect(status == 0)
        FileManager.default.createFile(atPath: release, contents: nil)

        try await eventually("3 healthy nodes after the restart", limit: .seconds(180)) {
            let nodes = try server.nodes(group: "web")
            return nodes.count == 3 && nodes.allSatisfy { $0.state == .healthy }
        }
        let nodes = try server.nodes(group: "web")
        let machines = instances(dir, group: "web")
        #expect(machines.count == 3, "no duplicate machine: \(machines.map(\.id))")
        #expect(Set(machines.compactMap { $0.tags[InstanceTag.node] }) == Set(nodes.map(\.id)), "no lost node: every machine is a node's")
        // Whether a statement of the coordinator's was in flight when the server went down (and so failed, to be
        // retried) is the scheduler's choice; the pool reconnects either way. What is checked is the outcome above.
    }
}
