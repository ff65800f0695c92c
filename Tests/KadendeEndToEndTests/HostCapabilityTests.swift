import Foundation
import Testing

/// The coordinator's host belongs to whoever runs `kadende server`: a tenant's spec cannot make it run anything
/// that person did not turn on. Defends against a cluster operator who once ran commands as the coordinator's user
/// (root under `scripts/run`) through the process provider or a coordinator-side hook: with neither turned on, both
/// are refused at apply with an error that says how the host's owner would turn them on, and nothing is stored.
@Suite(.serialized) struct HostCapabilityTests {
    func refusal(_ server: ServerProcess, _ yaml: String, _ dir: String) throws -> String {
        let path = dir + "/spec-\(UUID().uuidString.prefix(6)).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            try server.cli(["group", "apply", "-f", path])
        } catch let error as CLIError {
            return error.message
        }
        Issue.record("applied: \(yaml)")
        return ""
    }

    @Test func whatRunsOnTheCoordinatorsHostIsTheChoiceOfWhoeverRunsIt() async throws {
        let dir = try Paths.temporaryDirectory("host")
        let server = ServerProcess(dataDirectory: dir + "/data")
        defer { server.cleanUp(); try? FileManager.default.removeItem(atPath: dir) }
        server.localProviders = false
        let marker = dir + "/ran"
        let hook = dir + "/label-node"
        try "#!/bin/sh\ntouch \(marker)\n".write(toFile: hook, atomically: true, encoding: .utf8)
        chmod(hook, 0o755)
        server.extraArguments = ["--coordinator-hook", "label-node=\(hook)",
                                 "--provider-plugin", "local=" + Paths.root.appendingPathComponent("examples/plugins/kadende-local-plugin").path]
        try await server.start()

        for provider in ["process", "qemu"] {
            let message = try refusal(server, "name: web\nprovider: \(provider)\nsize: 1\n", dir)
            #expect(message.contains("capability_disabled") && message.contains("--local-provider \(provider)"), "\(message)")
        }
        let unlisted = try refusal(server, """
            name: web
            provider: local
            size: 0
            hooks: {preTerminate: {on: coordinator, run: drain-swarm}}
            """, dir)
        #expect(unlisted.contains("capability_disabled") && unlisted.contains("label-node"), "\(unlisted)")
        let spelledOut = try refusal(server, """
            name: web
            provider: local
            size: 0
            hooks: {postReady: {on: coordinator, command: [/bin/sh, -c, 'id > /tmp/owned']}}
            """, dir)
        #expect(spelledOut.contains("hooks.postReady.command"), "\(spelledOut)")
        #expect(try server.json(["group", "list"], as: [AnyJSON].self).isEmpty, "a refused spec stores nothing")

        // What the host's owner listed, a spec may name.
        let path = dir + "/named.yaml"
        try "name: web\nprovider: local\nsize: 0\nhooks: {postReady: {on: coordinator, run: label-node}}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        try server.cli(["group", "apply", "-f", path])
        #expect(try server.json(["group", "list"], as: [AnyJSON].self).count == 1)
    }
}

/// Any JSON value, for counting what a list holds.
struct AnyJSON: Decodable {}
