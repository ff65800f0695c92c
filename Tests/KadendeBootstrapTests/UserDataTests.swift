import Foundation
import KadendeBootstrap
import KadendeModel
import KadendeWire
import Testing
import Yams

@Suite struct UserDataTests {
    static let agent = AgentConfig(nodeID: "n-0123456789abcdef", endpoints: ["10.0.2.2:7443"],
                                   caPin: "sha256:" + String(repeating: "ab", count: 32), token: "kdt_" + String(repeating: "0", count: 64))
    static let artifact = AgentArtifact(url: "https://10.0.2.2:7444/v1/agent/0.1.0/x86_64", sha256: String(repeating: "c", count: 64),
                                        caCertificatePEM: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")

    static var examples: [(String, GroupSpec)] {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../examples").standardized
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()) ?? []
        return files.compactMap { file in
            guard let text = try? String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8),
                  let spec = try? GroupSpec(yaml: text) else { return nil }
            return (file, spec)
        }
    }

    func cloudConfig(_ userData: String) throws -> [String: Any] {
        #expect(userData.hasPrefix("#cloud-config\n"))
        return try #require(try Yams.load(yaml: userData) as? [String: Any])
    }

    @Test func carriesTheGroupsBootstrapThenTheAgent() throws {
        let bootstrap = GroupSpec.Bootstrap(packages: ["nginx"], files: [.init(path: "/etc/motd", content: "hi\n")], commands: ["echo ready"])
        let text = try UserData.make(bootstrap: bootstrap, agent: Self.agent, artifact: Self.artifact)
        let config = try cloudConfig(text)
        #expect(config["packages"] as? [String] == ["nginx"])
        let files = try #require(config["write_files"] as? [[String: Any]])
        let byPath = Dictionary(uniqueKeysWithValues: files.map { ($0["path"] as! String, $0) })
        #expect(byPath["/etc/motd"]?["content"] as? String == "hi\n")
        let agentFile = try #require(byPath[UserData.agentConfigPath])
        #expect(agentFile["permissions"] as? String == "0600" && agentFile["owner"] as? String == "root:root")
        let decoded = try YAMLDecoder().decode(AgentConfig.self, from: agentFile["content"] as! String)
        #expect(decoded.nodeID == Self.agent.nodeID && decoded.token == Self.agent.token && decoded.dataDir == nil)
        let unit = try #require(byPath["/etc/systemd/system/kadende-agent.service"]?["content"] as? String)
        #expect(unit.contains("Restart=always") && unit.contains("LockPersonality=yes") && unit.contains("WantedBy=multi-user.target"))
        // The agent writes /etc and /usr and runs package installs: nothing in its unit may make them read-only
        // (ProtectSystem=full once did, for the agent and every command it ran).
        for blocker in ["ProtectSystem", "ProtectHome", "PrivateTmp", "ReadOnlyPaths", "ProtectKernelModules", "RestrictSUIDSGID"] {
            #expect(!unit.contains(blocker), "\(blocker) would stop pushes or package installs")
        }
        #expect(!unit.contains("cloud-final"), "ordering after cloud-final while wanted by multi-user.target is a cycle")
        let runcmd = try #require(config["runcmd"] as? [[String]])
        #expect(runcmd == [["sh", "-c", "echo ready"], ["/usr/local/lib/kadende/install-agent"]])
    }

    @Test func coordinatorArtifactIsFetchedAgainstItsCA() throws {
        let files = try #require(try cloudConfig(UserData.make(bootstrap: .init(), agent: Self.agent, artifact: Self.artifact))["write_files"]
                                    as? [[String: Any]])
        let byPath = Dictionary(uniqueKeysWithValues: files.map { ($0["path"] as! String, $0) })
        // Public, so readable; what is secret (agent.yaml, artifact.env) is root-only.
        #expect(byPath["/etc/kadende/ca.pem"]?["permissions"] as? String == "0644")
        #expect(byPath["/etc/kadende/ca.pem"]?["content"] as? String == Self.artifact.caCertificatePEM)
        let env = try #require(byPath["/etc/kadende/artifact.env"])
        #expect(env["permissions"] as? String == "0600")
        #expect((env["content"] as? String)?.contains("KADENDE_AGENT_CA=/etc/kadende/ca.pem") == true)
        let installer = try #require(byPath["/usr/local/lib/kadende/install-agent"]?["content"] as? String)
        #expect(installer.contains("--cacert") && !installer.contains("--insecure"))
    }

    @Test func groupsOwnAgentSourceReplacesTheCoordinators() throws {
        let sha = String(repeating: "d", count: 64)
        let own = GroupSpec.Bootstrap(agent: .init(url: "https://mirror.example/kadende-agent", sha256: sha))
        let files = try #require(try cloudConfig(UserData.make(bootstrap: own, agent: Self.agent, artifact: Self.artifact))["write_files"]
                                    as? [[String: Any]])
        let byPath = Dictionary(uniqueKeysWithValues: files.map { ($0["path"] as! String, $0) })
        #expect(byPath["/etc/kadende/ca.pem"] == nil, "a mirror is checked against the system's CAs")
        #expect(byPath["/etc/kadende/artifact.env"]?["content"] as? String
                == "KADENDE_AGENT_URL=https://mirror.example/kadende-agent\nKADENDE_AGENT_SHA256=\(sha)\n")
    }

    @Test func ownCloudConfigMakesMultipartUserData() throws {
        let own = "#cloud-config\nruncmd:\n  - [touch, /tmp/mine]\n"
        let text = try UserData.make(bootstrap: .init(userData: own), agent: Self.agent, artifact: Self.artifact)
        #expect(text.hasPrefix("Content-Type: multipart/mixed; boundary="))
        #expect(text.contains("Content-Type: text/cloud-config") && text.contains("Merge-Type: list(append)"))
        #expect(text.contains(own))
        let script = try UserData.make(bootstrap: .init(userData: "#!/bin/sh\necho hi\n"), agent: Self.agent, artifact: Self.artifact)
        #expect(script.contains("Content-Type: text/x-shellscript"))
    }

    @Test func oversizedUserDataIsRefused() {
        let big = GroupSpec.Bootstrap(files: [.init(path: "/etc/big", content: String(repeating: "x", count: 17_000))])
        let error = #expect(throws: UserDataError.self) { try UserData.make(bootstrap: big, agent: Self.agent, artifact: Self.artifact) }
        #expect(error?.code == .tooLarge)
    }

    @Test(arguments: [
        (GroupSpec.Bootstrap(packages: ["nginx; rm -rf /"]), "bootstrap.packages[0]"),
        (GroupSpec.Bootstrap(files: [.init(path: "/etc/kadende/agent.yaml", content: "x")]), "bootstrap.files[0].path"),
        (GroupSpec.Bootstrap(files: [.init(path: "/etc/x", content: "x", owner: "root root")]), "bootstrap.files[0].owner"),
        (GroupSpec.Bootstrap(commands: ["  "]), "bootstrap.commands[0]"),
        (GroupSpec.Bootstrap(userData: "runcmd: []"), "bootstrap.userData"),
        (GroupSpec.Bootstrap(userData: "#cloud-config\n- not\n- a mapping\n"), "bootstrap.userData"),
        (GroupSpec.Bootstrap(agent: .init(url: "ftp://x/agent", sha256: String(repeating: "d", count: 64))), "bootstrap.agent"),
        (GroupSpec.Bootstrap(agent: .init(url: "https://x/agent", sha256: "DEADBEEF")), "bootstrap.agent"),
    ])
    func malformedBootstrapIsRefused(bootstrap: GroupSpec.Bootstrap, path: String) {
        let error = #expect(throws: UserDataError.self) { try UserData.validate(bootstrap) }
        #expect(error?.path == path)
    }

    @Test func artifactMustBeSafeToWriteIntoTheNodesEnvironment() {
        let bad = AgentArtifact(url: "https://x/$(reboot)' ", sha256: String(repeating: "c", count: 64))
        #expect(throws: UserDataError.self) { try UserData.make(bootstrap: .init(), agent: Self.agent, artifact: bad) }
    }

    /// Every example's user-data passes cloud-init's own schema check (Debian's `cloud-init` package).
    /// scripts/test installs it and sets KADENDE_REQUIRE_CLOUD_INIT=1 so a missing checker fails instead of skipping.
    @Test func everyExamplePassesCloudInitSchema() throws {
        let checker = "/usr/bin/cloud-init"
        guard FileManager.default.isExecutableFile(atPath: checker) else {
            if ProcessInfo.processInfo.environment["KADENDE_REQUIRE_CLOUD_INIT"] == "1" { Issue.record("cloud-init is not installed") }
            return
        }
        let examples = Self.examples
        #expect(!examples.isEmpty)
        var documents: [(String, String)] = []
        for (name, spec) in examples {
            var bootstrap = spec.bootstrap
            // The schema check reads one cloud-config: Kadende's part and the group's own are checked apart.
            if let own = bootstrap.userData, own.hasPrefix("#cloud-config") { documents.append(("\(name) (own part)", own)) }
            bootstrap.userData = nil
            documents.append((name, try UserData.make(bootstrap: bootstrap, agent: Self.agent, artifact: Self.artifact)))
        }
        #expect(documents.count > examples.count, "at least one example brings its own cloud-config")
        for (name, text) in documents {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("kadende-\(UUID()).cfg")
            try text.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: checker)
            process.arguments = ["schema", "--config-file", file.path]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = out
            try process.run()
            let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(name): \(output)")
        }
    }

    @Test func schemaCheckCanFail() throws {
        // The checker must reject what is wrong, or the test above proves nothing.
        let checker = "/usr/bin/cloud-init"
        guard FileManager.default.isExecutableFile(atPath: checker) else { return }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("kadende-\(UUID()).cfg")
        try "#cloud-config\nwrite_files:\n  - path: 7\n    permissions: [1]\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: checker)
        process.arguments = ["schema", "--config-file", file.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
    }
}
