import Foundation
import KadendeAPI
import KadendeModel
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Nodes on a provider plugin (the example in `examples/plugins`, whose machines are agent processes and whose state
/// lives outside the coordinator, as a cloud's would), and a coordinator killed with SIGKILL at the two instants of
/// a create that matter: after the intent is written and before the provider is called, and after the provider made
/// the machine and before the store recorded it. Failpoints (`KADENDE_FAILPOINT`) place the kill exactly there.
@Suite(.serialized) struct CrashSafeProvisioningTests {
    static let group = """
        name: web
        provider: local
        size: {desired: 3, min: 1, max: 5}
        health: {heartbeatInterval: 500ms, heartbeatTimeout: 30s}
        """

    struct PluginInstance: Decodable { var id: String; var pid: Int32; var tags: [String: String] }
    struct PluginState: Decodable { var instances: [PluginInstance] }

    func pluginInstances(_ dir: String) -> [PluginInstance] {
        guard let data = FileManager.default.contents(atPath: dir + "/plugin/instances.json") else { return [] }
        return (try? JSONDecoder().decode(PluginState.self, from: data).instances) ?? []
    }

    func server(_ dir: String) -> ServerProcess {
        let server = ServerProcess(dataDirectory: dir + "/data")
        server.extraArguments = ["--provider-plugin", "local=" + Paths.root.appendingPathComponent("examples/plugins/kadende-local-plugin").path]
        server.environment = ["KADENDE_LOCAL_PLUGIN_DIR": dir + "/plugin", "KADENDE_AGENT_PATH": Paths.agent]
        return server
    }

    func cleanUp(_ server: ServerProcess, _ dir: String) {
        server.cleanUp()
        for instance in pluginInstances(dir) { kill(-instance.pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test func aGroupOnAPluginIsKeptAtSize() async throws {
        let dir = try Paths.temporaryDirectory("plugin")
        let server = server(dir)
        defer { cleanUp(server, dir) }
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        try await server.start()
        try Self.group.write(toFile: dir + "/web.yaml", atomically: true, encoding: .utf8)
        _ = try await server.cliWaiting(["group", "apply", "-f", dir + "/web.yaml", "--wait", "--timeout", "120"])
        let nodes = try server.nodes(group: "web")
        #expect(nodes.count == 3 && nodes.allSatisfy { $0.state == .healthy })
        #expect(Set(pluginInstances(dir).map(\.id)) == Set(nodes.compactMap(\.instanceID)))
        // What the plugin said on stderr is kept in the coordinator's log.
        let log = try String(contentsOfFile: server.dataDirectory + "/server.log", encoding: .utf8)
        #expect(log.contains("started kadende-agent for \(nodes[0].id)"))

        // A machine dies: the plugin reports it stopped, the node is replaced through the plugin.
        let victim = nodes[0]
        let machine = try #require(pluginInstances(dir).first { $0.tags[InstanceTag.node] == victim.id })
        kill(-machine.pid, SIGKILL)
        try await eventually("the dead machine's node is replaced") {
            let now = try server.nodes(group: "web")
            return now.count == 3 && !now.contains { $0.id == victim.id } && now.allSatisfy { $0.state == .healthy }
        }
        #expect(pluginInstances(dir).count == 3, "the dead machine was destroyed through the plugin")

        // A spec the plugin refuses is refused at apply, with the plugin's words.
        try Self.group.appending("\nmachine: {image: ami-123}\n").write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        #expect {
            try server.cli(["group", "apply", "-f", dir + "/bad.yaml"])
        } throws: { error in
            "\(error)".contains("machine.image must be absent")
        }
    }

    @Test func instancesOfAGroupKadendeNoLongerHasAreDestroyedAfterTheGraceAndUntaggedOnesNever() async throws {
        let dir = try Paths.temporaryDirectory("orphans")
        let server = server(dir)
        server.extraArguments += ["--orphan-grace", "2s"]
        defer { cleanUp(server, dir) }
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/plugin", withIntermediateDirectories: true)
        // What a lost create of a since-deleted group left behind, and a machine someone else made with Kadende's
        // cluster and group tags but no node tag.
        let ghost = #"{"id": "local-ghost", "pid": 2147483000, "startTime": null, "launchedAt": "2026-11-26T10:00:00Z", "#
            + #""tags": {"kadende.cluster": "default", "kadende.group": "gone", "kadende.node": "n-00000000000000ee"}}"#
        let foreign = #"{"id": "local-foreign", "pid": 2147483001, "startTime": null, "launchedAt": "2026-11-26T10:00:00Z", "#
            + #""tags": {"kadende.cluster": "default", "kadende.group": "gone"}}"#
        try #"{"instances": [\#(ghost), \#(foreign)]}"#.write(toFile: dir + "/plugin/instances.json", atomically: true, encoding: .utf8)
        try await server.start()
        try await eventually("the orphan is destroyed") { pluginInstances(dir).map(\.id) == ["local-foreign"] }
        let events = try server.events(group: "gone")
        let destroyed = try #require(events.first { $0.kind == .orphanDestroyed })
        #expect(destroyed.reason.contains("instance local-ghost is tagged for group default/gone, which Kadende no longer has; destroyed after 2s"),
                "\(destroyed.reason)")
        #expect(destroyed.nodeID == "n-00000000000000ee")
        #expect(events.count == 1, "the instance without a node tag is never touched: \(events.map(\.reason))")
    }

    @Test(arguments: ["after-intent", "after-create"])
    func aCoordinatorKilledMidCreateEndsWithExactlyTheDesiredCount(_ failpoint: String) async throws {
        let dir = try Paths.temporaryDirectory("crash-\(failpoint)")
        let server = server(dir)
        defer { cleanUp(server, dir) }
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        server.environment["KADENDE_FAILPOINT"] = failpoint
        try await server.start()
        try Self.group.write(toFile: dir + "/web.yaml", atomically: true, encoding: .utf8)
        try server.cli(["group", "apply", "-f", dir + "/web.yaml"])
        // The first create reaches the failpoint and the coordinator dies as a power cut would.
        #expect(server.exitStatus == SIGKILL)
        // Creates of one pass run concurrently: each that got past `create` before the kill made a machine.
        let made = pluginInstances(dir)
        if failpoint == "after-intent" { #expect(made.isEmpty, "\(made.map(\.id))") } else { #expect(!made.isEmpty) }

        server.environment["KADENDE_FAILPOINT"] = nil
        try await server.start()
        do {
            try await eventually("3 nodes healthy after the restart", limit: .seconds(180)) {
                let nodes = try server.nodes(group: "web")
                return nodes.count == 3 && nodes.allSatisfy { $0.state == .healthy }
            }
        } catch {
            // What the coordinator saw, for the one reading a failed run.
            let log = (try? String(contentsOfFile: server.dataDirectory + "/server.log", encoding: .utf8)) ?? ""
            let events = (try? server.events(group: "web").map { "\($0.nodeID ?? "-") \($0.kind.rawValue): \($0.reason)" }) ?? []
            Issue.record("events:\n\(events.joined(separator: "\n"))\nserver log (end):\n\(log.suffix(6000))")
            throw error
        }
        let nodes = try server.nodes(group: "web")
        let instances = pluginInstances(dir)
        #expect(instances.count == 3, "no duplicate: \(instances.map(\.id))")
        #expect(Set(instances.compactMap { $0.tags[InstanceTag.node] }) == Set(nodes.map(\.id)), "no orphan: every machine is a node's")
        let events = try server.events(group: "web")
        #expect(!events.contains { $0.kind == .orphanDestroyed })
        if failpoint == "after-create" {
            // The machine made before the kill is adopted by its tag, and its agent enrols with the token it carries.
            for machine in made {
                let node = try #require(machine.tags[InstanceTag.node])
                #expect(events.contains { $0.kind == .nodeAdopted && $0.nodeID == node }, "\(events.filter { $0.nodeID == node }.map(\.reason))")
                #expect(nodes.contains { $0.id == node })
            }
        } else {
            // The intent without a machine is created again, under the same node id.
            #expect(events.contains { $0.kind == .nodeProvisioning && $0.reason.contains("no instance found by tag; creating again") },
                    "\(events.map(\.reason))")
        }
    }
}
