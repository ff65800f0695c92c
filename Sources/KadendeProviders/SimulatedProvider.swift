import KadendeModel
import KadendeSupport
import KadendeWire
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Machines that exist only as a line in a spool file: each create appends the node's agent configuration
/// (endpoints, CA pin, single-use token) as JSON, and a load generator (`kadende-loadgen`) plays the agents.
/// For benchmarks of thousands of agents, which no host can run as real machines; enabled only by
/// `kadende server --simulated-spool FILE`. Like a cloud's, the machines outlive a coordinator that crashes: every
/// create and destroy is journalled in `FILE.machines` and replayed when the provider starts.
public actor SimulatedProvider: Provider {
    public nonisolated let name = "simulated"
    let spool: String
    let journal: String
    private var instances: [String: Instance]

    struct JournalEntry: Codable {
        var created: Instance?
        var destroyed: String?
    }

    public init(spool: String) {
        self.spool = spool
        self.journal = spool + ".machines"
        self.instances = Self.replay(journal)
    }

    public nonisolated func validate(_ spec: GroupSpec) throws(ProviderError) {}

    public func create(_ request: CreateRequest) async throws(ProviderError) -> Instance {
        let id = "sim-\(request.nodeID)"
        if let existing = instances[id] { return existing }
        let instance = Instance(id: id, tags: request.tags, status: .running, address: "127.0.0.1", launchedAt: Date())
        do {
            try Self.append(Self.line(request.agent), to: spool)
            try Self.append(Self.line(JournalEntry(created: instance)), to: journal)
        } catch {
            throw ProviderError(.createFailed, provider: name, "cannot write \(spool): \(error)")
        }
        instances[id] = instance
        return instance
    }

    public func destroy(instanceID: String, reason: String) async throws(ProviderError) {
        guard instances.removeValue(forKey: instanceID) != nil else { return }
        do {
            try Self.append(Self.line(JournalEntry(destroyed: instanceID)), to: journal)
        } catch {
            throw ProviderError(.destroyFailed, provider: name, "cannot write \(journal): \(error)")
        }
    }

    public func list(tags: [String: String]) async throws(ProviderError) -> [Instance] {
        instances.values.filter { instance in tags.allSatisfy { instance.tags[$0.key] == $0.value } }
    }

    public func describe(instanceID: String) async throws(ProviderError) -> Instance? { instances[instanceID] }

    /// The machines a journal leaves alive. A torn last line (a crash mid-write) is skipped: its create never
    /// returned, so the coordinator asks again and the machine is made then.
    static func replay(_ path: String) -> [String: Instance] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        var instances: [String: Instance] = [:]
        let decoder = JSONDecoder()
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let entry = try? decoder.decode(JournalEntry.self, from: Data(line)) else { continue }
            if let created = entry.created { instances[created.id] = created }
            if let destroyed = entry.destroyed { instances[destroyed] = nil }
        }
        return instances
    }

    static func line(_ value: some Encodable) throws -> [UInt8] {
        var line = try JSONEncoder().encode(value)
        line.append(UInt8(ascii: "\n"))
        return Array(line)
    }

    /// One write per line with O_APPEND: a reader never sees half a line from two writers.
    static func append(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SecureFile.Failure(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw SecureFile.Failure(path: path, operation: "write", errno: errno) }
    }
}
