import Crypto
import Foundation
import KadendeAPI
import KadendeEC2
import KadendeModel
import Testing

/// The EC2 provider against `moto_server` speaking EC2's real Query API with signatures checked: a real
/// `kadende server`, real agents enrolling with the user-data that went through EC2 (see `EC2Machines`).
@Suite(.serialized) struct EC2MotoTests {
    static let group = """
        name: web
        provider: ec2
        size: {desired: 5, min: 1, max: 8}
        machine: {image: ami-0123456789abcdef0, type: t3.micro, tags: {team: web}}
        health: {heartbeatInterval: 500ms, heartbeatTimeout: 30s}
        bootstrap:
          packages: [nginx]
          agent: {url: "https://artifacts.example.com/kadende-agent", sha256: "\(String(repeating: "ab", count: 32))"}
        """

    func server(_ dir: String, moto: Moto, secret: String? = nil) -> ServerProcess {
        let server = ServerProcess(dataDirectory: dir + "/data")
        server.extraArguments = ["--ec2-region", "us-east-1", "--ec2-endpoint", moto.url]
        server.environment = ["AWS_ACCESS_KEY_ID": moto.credentials.accessKeyID,
                              "AWS_SECRET_ACCESS_KEY": secret ?? moto.credentials.secretAccessKey,
                              "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"]
        return server
    }

    @Test func aGroupOnEC2IsTaggedKeptAtSizeAndReplacedWhenAnInstanceIsTerminatedBehindItsBack() async throws {
        let dir = try Paths.temporaryDirectory("ec2")
        guard let moto = try await Moto.start(log: dir + "/moto.log") else { return }
        let server = server(dir, moto: moto)
        let machines = EC2Machines(ec2: moto.ec2, directory: dir + "/machines")
        let booting = Task {
            // Bounded by the test: cancelled at its end.
            while !Task.isCancelled {
                _ = try? await machines.step()
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        defer {
            booting.cancel()
            machines.stopAll()
            server.cleanUp()
            moto.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        try await server.start()
        // An admin's choice: the default cluster may use the coordinator's own AWS account.
        try server.cli(["credentials", "set", "ec2", "--from-coordinator"])
        try Self.group.write(toFile: dir + "/web.yaml", atomically: true, encoding: .utf8)
        try server.cli(["group", "apply", "-f", dir + "/web.yaml"])
        try await eventually("5 EC2 nodes healthy") {
            let nodes = try server.nodes(group: "web")
            return nodes.count == 5 && nodes.allSatisfy { $0.state == .healthy }
        }

        // Five instances, each tagged from birth, its user-data byte for byte what Kadende generated for its node.
        let live = try await machines.instances().filter { $0.state != "terminated" }
        #expect(live.count == 5)
        let nodes = try server.nodes(group: "web")
        let events = try server.events(group: "web")
        for node in nodes {
            let instance = try #require(live.first { $0.tags[InstanceTag.node] == node.id }, "no instance tagged for \(node.id)")
            #expect(instance.id == node.instanceID)
            #expect(instance.tags[InstanceTag.cluster] == "default" && instance.tags[InstanceTag.group] == "web")
            #expect(instance.tags[InstanceTag.specHash] == "r1" && instance.tags["team"] == "web")
            let asked = try #require(events.first { $0.nodeID == node.id && $0.reason.contains("asking provider ec2") })
            let digest = try #require(asked.reason.components(separatedBy: "sha256 ").last?.prefix(64))
            let sent = try #require(machines.userData(of: instance.id))
            #expect(Hex(SHA256.hash(data: sent)) == String(digest), "user-data of \(node.id) is not what Kadende generated")
            #expect(String(decoding: sent, as: UTF8.self).contains("- nginx"), "the group's bootstrap is in it")
        }

        // An instance terminated through EC2, behind Kadende's back: the provider's view convicts it, a new one comes.
        let victim = try #require(nodes.first)
        _ = try await moto.ec2.call("TerminateInstances", [("InstanceId.1", try #require(victim.instanceID))])
        try await eventually("the terminated instance's node is replaced") {
            let now = try server.nodes(group: "web")
            return now.count == 5 && !now.contains { $0.id == victim.id } && now.allSatisfy { $0.state == .healthy }
        }
        let verdict = try server.events(group: "web").first { $0.nodeID == victim.id && $0.reason.contains("convicted") }
        #expect(verdict?.reason.contains("provider reports the instance terminated") == true, "\(String(describing: verdict))")
        #expect(try await machines.instances().filter { $0.state != "terminated" }.count == 5, "no orphan, no duplicate")
    }

    @Test func aWrongSecretKeyIsAClearAuthenticationError() async throws {
        let dir = try Paths.temporaryDirectory("ec2-auth")
        guard let moto = try await Moto.start(log: dir + "/moto.log") else { return }
        let wrong = "wrong-secret-\(UUID().uuidString)"
        let server = server(dir, moto: moto, secret: wrong)
        defer { server.cleanUp(); moto.stop(); try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: server.dataDirectory, withIntermediateDirectories: true)
        try await server.start()
        try Self.group.replacingOccurrences(of: "desired: 5", with: "desired: 1").write(toFile: dir + "/web.yaml", atomically: true, encoding: .utf8)
        try server.cli(["group", "apply", "-f", dir + "/web.yaml"])
        // A cluster with no credentials of its own does not silently use the coordinator's: nothing is called.
        try await eventually("the missing credentials are an event") {
            try server.events(group: "web").contains { $0.kind == .providerError && $0.reason.contains("has no EC2 credentials") }
        }
        #expect(try await Moto.client(url: moto.url, credentials: moto.credentials).call("DescribeInstances", []).all("instanceId").isEmpty,
                "nothing was made with the coordinator's credentials")
        try server.cli(["credentials", "set", "ec2", "--from-coordinator"])
        try await eventually("the refusal is an event") {
            try server.events(group: "web").contains { $0.kind == .providerError && $0.reason.contains("authentication failed") }
        }
        let refusal = try #require(try server.events(group: "web").first { $0.kind == .providerError && $0.reason.contains("authentication failed") })
        #expect(refusal.reason.contains("AuthFailure"), "\(refusal.reason)")
        let metrics = try server.scrapeMetrics()
        #expect((metrics.value("kadende_provider_errors_total", ["provider": "ec2", "code": "authentication"]) ?? 0) >= 1, "\(metrics.text)")
        #expect(try await Moto.client(url: moto.url, credentials: moto.credentials).call("DescribeInstances", []).all("instanceId").isEmpty,
                "nothing was made")
        let everything = try server.cli(["events", "--group", "web"]) + (try String(contentsOfFile: server.dataDirectory + "/server.log", encoding: .utf8))
        #expect(!everything.contains(wrong), "the secret key appears in no event and no log line")

        // The cluster's own credentials, stored encrypted, take over from the coordinator's wrong ones.
        let right = moto.credentials
        let stored = try server.cli(["credentials", "set", "ec2"], input: "accessKeyID=\(right.accessKeyID)\nsecretAccessKey=\(right.secretAccessKey)\n")
        #expect(stored.contains("access key \(right.accessKeyID.prefix(4))…\(right.accessKeyID.suffix(4))"), "\(stored)")
        try await eventually("an instance is made with the cluster's credentials") {
            try await moto.ec2.call("DescribeInstances", []).all("instanceId").count == 1
        }
        let shown = try server.cli(["cluster", "get", "-o", "json"]) + (try server.cli(["events", "-o", "json"]))
            + (try String(contentsOfFile: server.dataDirectory + "/server.log", encoding: .utf8))
        #expect(shown.contains("credentials_set") && shown.contains("\(right.accessKeyID.prefix(4))…"))
        #expect(!shown.contains(right.secretAccessKey), "the stored secret is in no API answer, event or log line")
        // At rest it is sealed: neither the database nor its WAL holds it in the clear.
        for file in ["kadende.sqlite", "kadende.sqlite-wal"] {
            let bytes = FileManager.default.contents(atPath: server.dataDirectory + "/" + file) ?? Data()
            #expect(bytes.range(of: Data(right.secretAccessKey.utf8)) == nil, "\(file) holds the secret in the clear")
            #expect(bytes.range(of: Data(right.accessKeyID.utf8)) == nil, "\(file) holds the key id in the clear")
        }
        // Bad credentials input is refused with its reason, and nothing changes.
        #expect { try server.cli(["credentials", "set", "ec2"], input: "accessKeyID=AKIDONLY\n") } throws: {
            "\($0)".contains("ec2 credentials need accessKeyID and secretAccessKey")
        }
        #expect { try server.cli(["credentials", "set", "nosuch"], input: "a=b\n") } throws: { "\($0)".contains("no provider \"nosuch\"") }
    }
}

private func Hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
    bytes.map { String(format: "%02x", $0) }.joined()
}
