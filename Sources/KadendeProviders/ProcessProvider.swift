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

/// Nodes that are `kadende-agent` child processes on this machine, each with its own data directory and started
/// with exactly the enrolment payload user-data would carry. Instances and their tags live in a state file so
/// that `list` after a coordinator restart finds them; agents run in their own session so they outlive the
/// coordinator, as machines would.
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
        var slot: Int?
        var executable = agentPath
        var arguments = ["--config", directory + "/agent.yaml"]
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
            executable = NamespaceSetup.ip
            arguments = ["netns", "exec", NamespaceSetup.names(nodeID: request.nodeID).namespace, agentPath] + arguments
        }
        do {
            try SecureFile.makeDirectory(directory + "/data")
            let yaml = try YAMLEncoder().encode(config)
            try SecureFile.write(yaml, to: directory + "/agent.yaml")
        } catch {
            throw ProviderError(.createFailed, provider: name, "cannot prepare \(directory): \(error)")
        }
        let pid: Int32
        do {
            pid = try Spawn.detached(executable: executable, arguments: arguments, logFile: directory + "/agent.log")
        } catch {
            if slot != nil { NamespaceSetup.remove(nodeID: request.nodeID) }
            throw ProviderError(.createFailed, provider: name, "cannot start \(agentPath): \(error)")
        }
        let record = ProcessInstance(
            id: "proc-" + request.nodeID.dropFirst(2), nodeID: request.nodeID, pid: pid,
            startTicks: ProcFS.startTicks(pid) ?? 0, tags: request.tags, directory: directory, launchedAt: Date(),
            slot: slot)
        state[record.id] = record
        try save()
        logger.info("started agent process", metadata: ["node.id": "\(request.nodeID)", "pid": "\(pid)"])
        return instance(record)
    }

    public func destroy(instanceID: String, reason: String) async throws(ProviderError) {
        guard let record = state[instanceID] else { return }  // already gone: destroy is idempotent
        if isAlive(record) {
            // The whole session: the agent and anything it started.
            kill(-record.pid, SIGKILL)
            kill(record.pid, SIGKILL)
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
        // An agent process that exited is a machine that stopped: the instance exists until it is destroyed.
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
        guard let ticks = ProcFS.startTicks(record.pid), ticks == record.startTicks else { return false }
        return ProcFS.state(record.pid) != "Z"
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
