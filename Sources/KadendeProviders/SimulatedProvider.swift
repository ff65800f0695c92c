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
/// `kadende server --simulated-spool FILE`. Instances are kept in memory: a restarted coordinator forgets them.
public actor SimulatedProvider: Provider {
    public nonisolated let name = "simulated"
    let spool: String
    private var instances: [String: Instance] = [:]

    public init(spool: String) {
        self.spool = spool
    }

    public nonisolated func validate(_ spec: GroupSpec) throws(ProviderError) {}

    public func create(_ request: CreateRequest) async throws(ProviderError) -> Instance {
        if let existing = instances.values.first(where: { $0.nodeID == request.nodeID }) { return existing }
        do {
            var line = try JSONEncoder().encode(request.agent)
            line.append(UInt8(ascii: "\n"))
            try Self.append(Array(line), to: spool)
        } catch {
            throw ProviderError(.createFailed, provider: name, "cannot write \(spool): \(error)")
        }
        let instance = Instance(id: "sim-\(request.nodeID)", tags: request.tags, status: .running, address: "127.0.0.1", launchedAt: Date())
        instances[instance.id] = instance
        return instance
    }

    public func destroy(instanceID: String, reason: String) async throws(ProviderError) {
        instances[instanceID] = nil
    }

    public func list(tags: [String: String]) async throws(ProviderError) -> [Instance] {
        instances.values.filter { instance in tags.allSatisfy { instance.tags[$0.key] == $0.value } }
    }

    public func describe(instanceID: String) async throws(ProviderError) -> Instance? { instances[instanceID] }

    /// One write per line with O_APPEND: a reader never sees half a line from two writers.
    static func append(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SecureFile.Failure(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw SecureFile.Failure(path: path, operation: "write", errno: errno) }
    }
}
