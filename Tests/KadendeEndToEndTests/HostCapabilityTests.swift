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
        // Made world-readable by someone else first, as a shell with umask 022 would.
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try await server.start()

        // The store is private: the data directory 0700 and every file in it 0600 (the store with its -wal and -shm,
        // the log a redirect created, the secret key). Defends against a store (password hashes, revisions with their
        // files and environment, the audit log) that any local user could read.
        try await eventually("the store has its WAL") { FileManager.default.fileExists(atPath: server.dataDirectory + "/kadende.sqlite-shm") }
        #expect(try Self.mode(server.dataDirectory) == 0o700)
        for file in ["kadende.sqlite", "kadende.sqlite-wal", "kadende.sqlite-shm", "server.log", "secret.key", "coordinator.json"] {
            #expect(try Self.mode(server.dataDirectory + "/" + file) == 0o600, "\(file)")
        }

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

extension HostCapabilityTests {
    static func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }
}

/// Any JSON value, for counting what a list holds.
struct AnyJSON: Decodable {}
