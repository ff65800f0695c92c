import Foundation
import KadendeAPI
#if canImport(Glibc)
import Glibc
#endif

/// A real `kadende server` process, driven through the real `kadende` CLI, so that `kill -9` means what it says.
final class ServerProcess: @unchecked Sendable {
    let dataDirectory: String
    /// A network namespace the server (and the CLI talking to it) runs in, or nil for the test's own.
    let namespace: String?
    var extraArguments: [String] = []
    /// Whether the server may run nodes on this host (`--local-provider process` and `qemu`), as most tests need.
    var localProviders = true
    /// A shared store (postgres:// URL): the server runs as one replica of several.
    var storeURL: String?
    /// Added to the environment the server inherits from the test.
    var environment: [String: String] = [:]
    /// The API token of the admin the tests act as (see `ensureAdmin`).
    private(set) var token: String?
    private(set) var process: Process?
    private(set) var httpPort = 0
    private(set) var agentPort = 0
    private var log: FileHandle?

    init(dataDirectory: String, namespace: String? = nil) {
        self.dataDirectory = dataDirectory
        self.namespace = namespace
    }

    /// The executable and arguments, run inside `namespace` when there is one.
    func command(_ executable: String, _ arguments: [String]) -> (URL, [String]) {
        guard let namespace else { return (URL(fileURLWithPath: executable), arguments) }
        return (URL(fileURLWithPath: "/usr/sbin/ip"), ["netns", "exec", namespace, executable] + arguments)
    }

    /// https when the server is started with `--api-tls`; the CLI then trusts the coordinator's CA.
    var scheme = "http"
    var url: String { "\(scheme)://127.0.0.1:\(httpPort)" }

    func setPorts(http: Int, agent: Int) {
        httpPort = http
        agentPort = agent
    }

    /// Acts as the admin another replica made (they share the store).
    func adoptAdmin(of other: ServerProcess) { token = other.token }

    /// Listen on the ports another server uses (to test what happens when they are taken).
    func usePorts(of other: ServerProcess) {
        httpPort = other.httpPort
        agentPort = other.agentPort
    }

    var exitStatus: Int32? {
        guard let process else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// `KADENDE_TEST_SERVER_LOG_LEVEL=debug` when chasing a failure; info otherwise, which keeps the logs readable.
    static let logLevel = ProcessInfo.processInfo.environment["KADENDE_TEST_SERVER_LOG_LEVEL"] ?? "info"

    /// Starts the server and returns once it says it is ready. Ports are chosen by the kernel the first time and
    /// kept on restarts, because agents were told the agent port.
    func start() async throws {
        try ensureAdmin()
        let process = Process()
        let agentHost = namespace == nil ? "127.0.0.1" : "0.0.0.0"
        (process.executableURL, process.arguments) = command(Paths.kadende, [
            "server", "--data-dir", dataDirectory,
            "--listen-http", "127.0.0.1:\(httpPort)", "--listen-agents", "\(agentHost):\(agentPort)",
            "--agent-path", Paths.agent, "--log-level", Self.logLevel, "--artifact-port", "0"]
            // The tests run nodes on this host: the server's owner (the test) turns that on.
            + (localProviders ? ["--local-provider", "process", "--local-provider", "qemu"] : []) + (storeURL.map { ["--store", $0] } ?? []) + extraArguments)
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, mine in mine } }
        let stdout = Pipe()
        process.standardOutput = stdout
        let logPath = dataDirectory + "/server.log"
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardError = log
        self.log = log
        try process.run()
        self.process = process
        // The server prints one line once both listeners are up.
        let reader = stdout.fileHandleForReading
        let text = await withCheckedContinuation { continuation in
            // A blocking read, off the cooperative pool.
            DispatchQueue.global().async {
                var line = Data()
                while true {
                    let byte = reader.readData(ofLength: 1)
                    if byte.isEmpty || byte.first == UInt8(ascii: "\n") { break }
                    line.append(byte)
                }
                continuation.resume(returning: String(decoding: line, as: UTF8.self))
            }
        }
        guard text.contains("ready"), let ready = FileManager.default.contents(atPath: dataDirectory + "/coordinator.json"),
              let info = try JSONSerialization.jsonObject(with: ready) as? [String: Int]
        else { throw CLIError(message: "server did not start: \(text); see \(logPath)") }
        httpPort = info["httpPort"] ?? 0
        agentPort = info["agentPort"] ?? 0
    }

    /// The first admin, made in the store before the first start as an operator would
    /// (`kadende user create --admin --data-dir`), with a token every CLI call of the test then carries.
    func ensureAdmin() throws {
        guard token == nil else { return }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.kadende)
        process.arguments = ["user", "create", "admin", "--admin", "--generate-password", "--print-token"]
            + (storeURL.map { ["--store", $0] } ?? ["--data-dir", dataDirectory])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("token: ") }) else {
            throw CLIError(message: "kadende user create failed: \(text)")
        }
        token = String(line.dropFirst("token: ".count))
    }

    func kill9() {
        guard let process else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    func terminate() {
        guard let process else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    /// `cli` for commands that wait (`--wait`, `--watch`): run on a thread of their own. Tests run concurrently on the
    /// cooperative pool, which has one thread per core; a command blocking one of them for minutes stalls every other
    /// test in the process, including the ones the waiting command is waiting for.
    func cliWaiting(_ arguments: [String], input: String? = nil) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try self.cli(arguments, input: input) }) }
        }
    }

    /// Runs `kadende ARGS --coordinator URL` and returns its standard output; a non-zero exit is an error that
    /// carries standard error.
    @discardableResult
    func cli(_ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        (process.executableURL, process.arguments) = command(Paths.kadende, arguments + ["--coordinator", url])
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        var added: [String: String] = [:]
        if let token { added["KADENDE_TOKEN"] = token }
        if scheme == "https" { added["KADENDE_CA"] = dataDirectory + "/pki/ca.pem" }
        if !added.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(added) { _, mine in mine } }
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLIError(message: "kadende \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    func json<T: Decodable>(_ arguments: [String], as type: T.Type = T.self) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = APIDates.decoding
        return try decoder.decode(T.self, from: Data(try cli(arguments + ["-o", "json"]).utf8))
    }

    func nodes(group: String) throws -> [APINode] { try json(["node", "list", "--group", group]) }
    func events(group: String, after: Int64 = 0) throws -> [APIEvent] { try json(["events", "--group", group, "--after", "\(after)"]) }

    /// The process provider's record of its agent processes.
    /// Each process node's agent: node id → pid.
    func agentProcesses() throws -> [String: Int32] { try processInstances(key: "agentPID") }

    /// Each process node's keeper, the leader of the session that is the node: node id → pid.
    func nodeSessions() throws -> [String: Int32] { try processInstances(key: "pid") }

    /// Kills a whole process node (keeper, agent, the group's commands), as a machine that dies.
    func killNode(_ nodeID: String) throws {
        guard let keeper = try nodeSessions()[nodeID] else { throw CLIError(message: "no session for \(nodeID)") }
        kill(-keeper, SIGKILL)
        if let agent = try agentProcesses()[nodeID] { kill(agent, SIGKILL) }
    }

    private func processInstances(key: String) throws -> [String: Int32] {
        guard let data = FileManager.default.contents(atPath: dataDirectory + "/process/instances.json"),
              let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return [:] }
        var out: [String: Int32] = [:]
        for entry in list {
            if let node = entry["nodeID"] as? String, let pid = entry[key] as? Int { out[node] = Int32(pid) }
        }
        return out
    }

    /// The qemu provider's virtual machines: instance id → QEMU's pid, from each VM's own pidfile.
    func virtualMachines() -> [String: Int32] {
        let root = dataDirectory + "/qemu/vms"
        var out: [String: Int32] = [:]
        for id in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            if let text = try? String(contentsOfFile: "\(root)/\(id)/qemu.pid", encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) { out[id] = pid }
        }
        return out
    }

    /// Kills every agent and virtual machine this server started and removes the data directory.
    func cleanUp() {
        terminate()
        for pid in (try? nodeSessions().values).map(Array.init) ?? [] { kill(-pid, SIGKILL); kill(pid, SIGKILL) }
        for pid in (try? agentProcesses().values).map(Array.init) ?? [] { kill(pid, SIGKILL) }
        for pid in virtualMachines().values { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }
}

struct CLIError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

func isAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    // A zombie is not alive: read its state from /proc.
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
}

/// Waits for a condition the system must reach, checking it repeatedly; `limit` bounds a broken run, it is not
/// the expectation (which is the condition itself).
func eventually(_ what: String, limit: Duration = .seconds(120), _ condition: () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + limit
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(200))
    }
    throw CLIError(message: "never happened: \(what)")
}
