import Foundation
import KadendeAPI
import KadendeModel
import Testing

/// Lifecycle hooks end to end: `postReady` on the coordinator when a node turns healthy, `preTerminate` on the node
/// through its agent before its machine is destroyed; a hook that fails or hangs is recorded and the node is
/// terminated all the same.
@Suite(.serialized) struct HookTests {
    func spec(size: Int, directory: String, preTerminate: String) -> String {
        """
        name: web
        provider: process
        size: {desired: \(size), min: 0, max: 5}
        health: {heartbeatInterval: 500ms, heartbeatTimeout: 2s}
        hooks:
          postReady:
            on: coordinator
            run: mark-ready
          preTerminate:
            on: node
            shell: true
            timeout: 2s
            command: \(preTerminate)
        """
    }

    @Test func hooksRunAroundANodesLifeAndAFailedDrainStillTerminates() async throws {
        let dir = try Paths.temporaryDirectory("hooks")
        let server = ServerProcess(dataDirectory: dir + "/data")
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        // The coordinator's owner lists what its host may run for hooks; the spec names it.
        let markReady = dir + "/mark-ready"
        try "#!/bin/sh\necho \"$KADENDE_NODE_ID $KADENDE_GROUP\" >> \(dir)/ready\n".write(toFile: markReady, atomically: true, encoding: .utf8)
        chmod(markReady, 0o755)
        server.extraArguments = ["--coordinator-hook", "mark-ready=\(markReady)"]
        try await server.start()
        let path = dir + "/web.yaml"
        let drain = "'echo \"draining $KADENDE_NODE_ID because $KADENDE_REASON\" >> \(dir)/drained; sleep 0.5'"
        try spec(size: 3, directory: dir, preTerminate: drain).write(toFile: path, atomically: true, encoding: .utf8)
        _ = try await server.cliWaiting(["group", "apply", "-f", path, "--wait", "--timeout", "120"])
        let nodes = try server.nodes(group: "web").map(\.id)

        try await eventually("postReady ran for every node") {
            let ready = (try? String(contentsOfFile: dir + "/ready", encoding: .utf8)) ?? ""
            return nodes.allSatisfy { ready.contains("\($0) web") }
        }
        #expect(try server.events(group: "web").filter { $0.kind == .hookRan && $0.reason.hasPrefix("postReady succeeded on the coordinator") }.count == 3)

        // Scale down by one: the node drains itself through its agent before its machine goes.
        try spec(size: 2, directory: dir, preTerminate: drain).write(toFile: path, atomically: true, encoding: .utf8)
        try server.cli(["group", "apply", "-f", path])
        try await eventually("one node terminated") { try server.nodes(group: "web").count == 2 }
        let gone = try #require(Set(nodes).subtracting(try server.nodes(group: "web").map(\.id)).first)
        let drained = try String(contentsOfFile: dir + "/drained", encoding: .utf8)
        #expect(drained.contains("draining \(gone) because scaling down to 2"), "\(drained)")
        var steps = try server.events(group: "web").filter { $0.nodeID == gone }
        let hook = try #require(steps.firstIndex { $0.kind == .hookRan && $0.reason.hasPrefix("preTerminate succeeded on the node") })
        let terminated = try #require(steps.firstIndex { $0.reason.contains("terminating → terminated") })
        #expect(hook < terminated, "the machine is destroyed only after the drain: \(steps.map(\.reason))")

        // A drain that hangs past its timeout is recorded as such; the node is terminated anyway.
        try spec(size: 1, directory: dir, preTerminate: "'sleep 30'").write(toFile: path, atomically: true, encoding: .utf8)
        try server.cli(["group", "apply", "-f", path])
        try await eventually("the second node terminated despite its hanging drain") { try server.nodes(group: "web").count == 1 }
        let second = try #require(Set(nodes).subtracting([gone]).subtracting(try server.nodes(group: "web").map(\.id)).first)
        steps = try server.events(group: "web").filter { $0.nodeID == second }
        #expect(steps.contains { $0.kind == .hookRan && $0.reason.hasPrefix("preTerminate timed out on the node") }, "\(steps.map(\.reason))")
        #expect(steps.contains { $0.reason.contains("terminating → terminated") })
    }
}
