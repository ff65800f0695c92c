import Foundation
import KadendeEC2
import KadendeProviders
import KadendeSupport
import KadendeWire
import Logging
import Testing
import Yams
#if canImport(Glibc)
import Glibc
#endif

/// The EC2 emulator `moto_server` on 127.0.0.1, with authentication on: its first three actions (this helper's IAM
/// set-up: a user, its policy, its access key) are let through, and every later request must carry a valid SigV4
/// signature by that key. `scripts/test` installs it and sets KADENDE_MOTO_SERVER; without it the EC2 tests skip,
/// unless KADENDE_REQUIRE_MOTO=1 makes that a failure.
final class Moto: @unchecked Sendable {
    let process: Process
    let port: Int
    let credentials: AWSCredentials
    var url: String { "http://127.0.0.1:\(port)" }

    static func start(log: String) async throws -> Moto? {
        let env = ProcessInfo.processInfo.environment
        guard let server = env["KADENDE_MOTO_SERVER"] else {
            if env["KADENDE_REQUIRE_MOTO"] == "1" { Issue.record("KADENDE_MOTO_SERVER is not set") }
            return nil
        }
        let port = FreePort.pick()
        guard port > 0 else { throw CLIError(message: "no free port on 127.0.0.1") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: server)
        process.arguments = ["-H", "127.0.0.1", "-p", "\(port)"]
        process.environment = env.merging(["INITIAL_NO_AUTH_ACTION_COUNT": "3"]) { _, new in new }
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        do {
            // A TCP connect, not a request: requests would use up the unauthenticated actions.
            try await eventually("moto_server listens on \(port)", limit: .seconds(60)) { VirtualMachineTests.accepts(port: port) }
            let iam = Self.client(url: "http://127.0.0.1:\(port)", credentials: AWSCredentials(accessKeyID: "AKIDSETUP", secretAccessKey: "setup"), service: "iam")
            _ = try await iam.call("CreateUser", [("UserName", "kadende")])
            let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}"#
            _ = try await iam.call("PutUserPolicy", [("UserName", "kadende"), ("PolicyName", "ec2"), ("PolicyDocument", policy)])
            let key = try await iam.call("CreateAccessKey", [("UserName", "kadende")])
            guard let id = key.all("AccessKeyId").first?.text, let secret = key.all("SecretAccessKey").first?.text else {
                throw CLIError(message: "moto gave no access key")
            }
            return Moto(process: process, port: port, credentials: AWSCredentials(accessKeyID: id, secretAccessKey: secret))
        } catch {
            kill(process.processIdentifier, SIGKILL)
            throw error
        }
    }

    private init(process: Process, port: Int, credentials: AWSCredentials) {
        self.process = process
        self.port = port
        self.credentials = credentials
    }

    static func client(url: String, credentials: AWSCredentials, service: String = "ec2") -> EC2Client {
        var settings = EC2Settings(region: "us-east-1", endpoint: url)
        settings.maxAttempts = 1
        var client = EC2Client(settings: settings, credentials: { _ in credentials }, logger: Logger(label: "test"))
        client.service = service
        if service == "iam" { client.apiVersion = "2010-05-08" }
        return client
    }

    /// EC2 as the test sees it, with the key the coordinator uses.
    var ec2: EC2Client { Self.client(url: url, credentials: credentials) }

    /// moto_server (werkzeug) ignores SIGTERM.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Plays the machines that moto only pretends to run: for each instance, what cloud-init would do with the
/// user-data Kadende sent (its agent configuration, here run as a local `kadende-agent`), and for each instance
/// terminated, what the machine's end would do (its agent dies).
final class EC2Machines: @unchecked Sendable {
    let ec2: EC2Client
    let directory: String
    private let lock = NSLock()
    private var agents: [String: Process] = [:]
    private(set) var userData: [String: [UInt8]] = [:]

    init(ec2: EC2Client, directory: String) {
        self.ec2 = ec2
        self.directory = directory
    }

    struct Seen { var id: String; var state: String; var tags: [String: String] }

    func instances() async throws -> [Seen] {
        let answer = try await ec2.call("DescribeInstances", [])
        return answer.all("instancesSet").flatMap { $0.children("item") }.compactMap { item in
            guard let id = item.value("instanceId") else { return nil }
            var tags: [String: String] = [:]
            for tag in item.items("tagSet") { tags[tag.value("key") ?? ""] = tag.value("value") ?? "" }
            return Seen(id: id, state: item.value("instanceState", "name") ?? "", tags: tags)
        }
    }

    /// Boots what is new and stops what was terminated; returns the instances seen.
    @discardableResult
    func step() async throws -> [Seen] {
        let seen = try await instances()
        for instance in seen {
            let running = lock.withLock { agents[instance.id] }
            if instance.state == "terminated" || instance.state == "shutting-down" {
                if let running, running.isRunning { kill(running.processIdentifier, SIGKILL) }
                continue
            }
            guard running == nil else { continue }
            try await boot(instance.id)
        }
        return seen
    }

    private func boot(_ id: String) async throws {
        let answer = try await ec2.call("DescribeInstanceAttribute", [("InstanceId", id), ("Attribute", "userData")])
        guard let encoded = answer.value("userData", "value"), let data = Data(base64Encoded: encoded) else {
            throw CLIError(message: "instance \(id) has no user-data")
        }
        let bytes = Array(data)
        lock.withLock { userData[id] = bytes }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("#cloud-config\n"), let document = try Yams.load(yaml: text) as? [String: Any],
              let files = document["write_files"] as? [[String: Any]],
              let content = files.first(where: { $0["path"] as? String == "/etc/kadende/agent.yaml" })?["content"] as? String
        else { throw CLIError(message: "instance \(id): user-data has no agent configuration") }
        var config = try YAMLDecoder().decode(AgentConfig.self, from: content)
        let home = directory + "/" + id
        try FileManager.default.createDirectory(atPath: home + "/root", withIntermediateDirectories: true)
        config.dataDir = home + "/state"
        config.filesRoot = home + "/root"
        try YAMLEncoder().encode(config).write(toFile: home + "/agent.yaml", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.agent)
        process.arguments = ["--config", home + "/agent.yaml"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: { FileManager.default.createFile(atPath: home + "/agent.log", contents: nil); return home + "/agent.log" }()))
        try process.run()
        lock.withLock { agents[id] = process }
    }

    func userData(of id: String) -> [UInt8]? { lock.withLock { userData[id] } }

    func stopAll() {
        for process in lock.withLock({ Array(agents.values) }) where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
