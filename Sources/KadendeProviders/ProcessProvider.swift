import KadendeModel
import KadendeSupport
import KadendeWire
import Logging
import Yams
import struct Foundation.Date
import struct Foundation.Data
import class Foundation.JSONDecoder
import class Foundation.JSONEncoder
#if canImport(Glibc)
import Glibc
#endif

/// Nodes that are process sessions on this machine, each with its own data directory: a keeper process that is
/// the "machine" (the instance runs while it does), the `kadende-agent` started with exactly the enrolment payload
/// user-data would carry, and the group's `bootstrap.commands` as the node's workload, each in the background
/// (packages and files are for real machines). Killing the session kills the node; killing only the agent leaves
/// the node serving, as on a real machine. Instances and their tags live in a state file so that `list` after a
/// coordinator restart finds them; sessions outlive the coordinator, as machines would.
public actor ProcessProvider: Provider {
    public nonisolated let name = "process"
    private let root: String
    private let agentPath: String
    private let network: ProcessNetwork
    private let logger: Logger
    private var state: [String: ProcessInstance]

    struct ProcessInstance: Codable, Hashable {
        var id: String
        var nodeID: String
        var pid: Int32
        /// Process start time in clock ticks since boot (/proc/PID/stat field 22): guards against pid reuse.
        var startTicks: UInt64
        var tags: [String: String]
        var directory: String
        var launchedAt: Date
        /// The /30 slot of a node in its own network namespace.
        var slot: Int?
        /// The agent, once started (the keeper starts it; `restartAgent` starts another).
        var agentPID: Int32?
        var agentTicks: UInt64?
    }

    public init(root: String, agentPath: String, network: ProcessNetwork = .shared, logger: Logger) throws {
        self.root = root
        self.agentPath = agentPath
        self.network = network
        self.logger = logger
        try SecureFile.makeDirectory(root + "/nodes")
        if let bytes = try SecureFile.read(root + "/instances.json") {
            let list = try JSONDecoder().decode([ProcessInstance].self, from: Data(bytes))
            state = Dictionary(list.map { ($0.id, $0) }, uniquingKeysWith: { _, b in b })
        } else {
            state = [:]
        }
    }

    public nonisolated func validate(_ spec: GroupSpec) throws(ProviderError) {
        guard spec.size.max <= 200 else {
            throw ProviderError(.invalidSpec, provider: name, "size.max \(spec.size.max): the process provider runs at most 200 nodes per group")
        }
    }

    public func create(_ request: CreateRequest) async throws(ProviderError) -> Instance {
        if let existing = state.values.first(where: { $0.nodeID == request.nodeID }) {
            return instance(existing)
        }
        let directory = "\(root)/nodes/\(request.nodeID)"
        var config = request.agent
        config.dataDir = directory + "/data"
        // Nodes share this host: each writes pushed files under its own directory, never the host's /etc.
        config.filesRoot = directory + "/root"
        var slot: Int?
        var prefix: [String] = []
        if case .namespaces(let subnet) = network {
            let used = Set(state.values.compactMap(\.slot))
            guard let free = (0..<IPv4Subnet.slots).first(where: { !used.contains($0) }) else {
                throw ProviderError(.createFailed, provider: name, "no free /30 left in \(subnet)")
            }
            try NamespaceSetup.create(nodeID: request.nodeID, slot: free, subnet: subnet)
            slot = free
            // The node reaches the coordinator through its end of the veth pair, on the advertised ports.
            let gateway = subnet.coordinatorAddress(slot: free)
            config.endpoints = config.endpoints.map { endpoint in
                "\(gateway):\(endpoint.split(separator: ":").last.map(String.init) ?? "7443")"
            }
            prefix = [NamespaceSetup.ip, "netns", "exec", NamespaceSetup.names(nodeID: request.nodeID).namespace]
        }
        let address = slot.flatMap { slot in
            if case .namespaces(let subnet) = network { return subnet.nodeAddress(slot: slot) }
            return nil
        } ?? "127.0.0.1"
        do {
            try SecureFile.makeDirectory(directory + "/data")
            let yaml = try YAMLEncoder().encode(config)
            try SecureFile.write(yaml, to: directory + "/agent.yaml")
            try SecureFile.write(Array(Self.keeperScript(agent: agentPath, directory: directory, nodeID: request.nodeID, address: address,
                                                         commands: request.spec.bootstrap.commands).utf8), to: directory + "/node.sh")
        } catch {
            if slot != nil { NamespaceSetup.remove(nodeID: request.nodeID) }
            throw ProviderError(.createFailed, provider: name, "cannot prepare \(directory): \(error)")
        }
        let argv = prefix + ["/bin/sh", directory + "/node.sh"]
        let pid: Int32
        do {
            pid = try Spawn.detached(executable: argv[0], arguments: Array(argv.dropFirst()), logFile: directory + "/node.log")
        } catch {
            if slot != nil { NamespaceSetup.remove(nodeID: request.nodeID) }
            throw ProviderError(.createFailed, provider: name, "cannot start the node's session: \(error)")
        }
        var record = ProcessInstance(
            id: "proc-" + request.nodeID.dropFirst(2), nodeID: request.nodeID, pid: pid,
            startTicks: ProcFS.startTicks(pid) ?? 0, tags: request.tags, directory: directory, launchedAt: Date(),
            slot: slot)
        // Recorded before the wait below: creates run concurrently, and the actor takes others while this one
        // waits, which must see this node's slot (and the node itself) as taken.
        state[record.id] = record
        try save()
        // The keeper writes the agent's pid first thing; wait for it briefly (bounded) so destroy can find it.
        for _ in 0..<200 where record.agentPID == nil {
            if let text = try? SecureFile.readText(directory + "/agent.pid"), let agent = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                record.agentPID = agent
                record.agentTicks = ProcFS.startTicks(agent)
            } else {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        if state[record.id] != nil {  // unless destroyed while it started
            state[record.id] = record
            try save()
        }
        logger.info("started node session", metadata: ["node.id": "\(request.nodeID)", "pid": "\(pid)", "agent.pid": "\(record.agentPID ?? 0)"])
        return instance(record)
    }

    /// The node's "init": starts the agent and the group's commands in the background, in the session's process
    /// group, then stays as the machine's heartbeat of life.
    static func keeperScript(agent: String, directory: String, nodeID: String, address: String, commands: [String]) -> String {
        var lines = [
            "# Kadende process node \(nodeID): this session is the machine.",
            "export KADENDE_NODE_ID=\(shellQuote(nodeID)) KADENDE_NODE_ADDRESS=\(shellQuote(address)) KADENDE_NODE_DIR=\(shellQuote(directory))",
            "\(shellQuote(agent)) --config \(shellQuote(directory + "/agent.yaml")) >>\(shellQuote(directory + "/agent.log")) 2>&1 &",
            "echo $! > \(shellQuote(directory + "/agent.pid"))",
        ]
        for command in commands {
            lines.append("( \(command) ) >>\(shellQuote(directory + "/node.log")) 2>&1 &")
        }
        lines.append("exec sleep 2147483647")
        return lines.joined(separator: "\n") + "\n"
    }

    static func shellQuote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    public func restartAgent(instanceID: String) async throws(ProviderError) -> Bool {
        guard var record = state[instanceID], isAlive(record) else { return false }
        if let agent = record.agentPID, Self.isAlive(pid: agent, ticks: record.agentTicks) {
            kill(agent, SIGKILL)
        }
        var argv = [agentPath, "--config", record.directory + "/agent.yaml"]
        if record.slot != nil {
            argv = [NamespaceSetup.ip, "netns", "exec", NamespaceSetup.names(nodeID: record.nodeID).namespace] + argv
        }
        let pid: Int32
        do {
            pid = try Spawn.detached(executable: argv[0], arguments: Array(argv.dropFirst()), logFile: record.directory + "/agent.log")
        } catch {
            throw ProviderError(.createFailed, provider: name, "cannot restart the agent: \(error)")
        }
        record.agentPID = pid
        record.agentTicks = ProcFS.startTicks(pid)
        state[instanceID] = record
        try save()
        logger.info("restarted agent", metadata: ["node.id": "\(record.nodeID)", "agent.pid": "\(pid)"])
        return true
    }

    public func destroy(instanceID: String, reason: String) async throws(ProviderError) {
        guard let record = state[instanceID] else { return }  // already gone: destroy is idempotent
        if isAlive(record) {
            // The whole session: keeper, agent and the group's commands.
            kill(-record.pid, SIGKILL)
            kill(record.pid, SIGKILL)
        }
        if let agent = record.agentPID, Self.isAlive(pid: agent, ticks: record.agentTicks) {
            // A restarted agent has a session of its own.
            kill(-agent, SIGKILL)
            kill(agent, SIGKILL)
        }
        var status: Int32 = 0
        _ = waitpid(record.pid, &status, WNOHANG)
        if record.slot != nil { NamespaceSetup.remove(nodeID: record.nodeID) }
        state[instanceID] = nil
        try save()
        ProcessProvider.removeTree(record.directory)
        logger.info("destroyed agent process", metadata: ["node.id": "\(record.nodeID)", "pid": "\(record.pid)", "reason": "\(reason)"])
    }

    public func list(tags: [String: String]) async throws(ProviderError) -> [Instance] {
        state.values
            .filter { record in tags.allSatisfy { record.tags[$0.key] == $0.value } }
            .sorted { $0.launchedAt < $1.launchedAt }
            .map(instance)
    }

    public func describe(instanceID: String) async throws(ProviderError) -> Instance? {
        state[instanceID].map(instance)
    }

    private func instance(_ record: ProcessInstance) -> Instance {
        // A keeper that exited is a machine that stopped: the instance exists until it is destroyed.
        let address: String
        if let slot = record.slot, case .namespaces(let subnet) = network {
            address = subnet.nodeAddress(slot: slot)
        } else {
            address = "127.0.0.1"
        }
        return Instance(id: record.id, tags: record.tags, status: isAlive(record) ? .running : .stopped,
                        address: address, launchedAt: record.launchedAt)
    }

    private func isAlive(_ record: ProcessInstance) -> Bool {
        var status: Int32 = 0
        let reaped = waitpid(record.pid, &status, WNOHANG)
        if reaped == record.pid { return false }  // our child, and it just exited
        if reaped == 0 { return true }            // our child, still running
        // Not our child (the coordinator restarted): ask /proc, guarding against pid reuse.
        return Self.isAlive(pid: record.pid, ticks: record.startTicks)
    }

    static func isAlive(pid: Int32, ticks: UInt64?) -> Bool {
        guard let current = ProcFS.startTicks(pid), ticks == nil || current == ticks else { return false }
        return ProcFS.state(pid) != "Z"
    }

    private func save() throws(ProviderError) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(state.values.sorted { $0.id < $1.id })
            try SecureFile.write(Array(data), to: root + "/instances.json")
        } catch {
            throw ProviderError(.createFailed, provider: name, "cannot save state file: \(error)")
        }
    }

    static func removeTree(_ path: String) {
        guard path.contains("/nodes/") else { return }  // never remove anything outside a node directory
        _ = try? Spawn.run("/bin/rm", ["-rf", "--", path])
    }
}
