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
/// `kadende server --simulated-spool FILE`. Like a cloud's, the machines outlive a coordinator that crashes and are
/// the same for every replica: each create and destroy is appended to the journal `FILE.machines` (one line, one
/// write, O_APPEND), which every call first reads on from where it left off.
public actor SimulatedProvider: Provider {
    public nonisolated let name = "simulated"
    let spool: String
    let journal: String
    private var instances: [String: Instance] = [:]
    private var journalRead: UInt64 = 0

    struct JournalEntry: Codable {
        var created: Instance?
        var destroyed: String?
    }

    public init(spool: String) {
        self.spool = spool
        self.journal = spool + ".machines"
    }

    public nonisolated func validate(_ spec: GroupSpec) throws(ProviderError) {}

    /// Applies what was journalled since the last call, by this replica or another. A last line still without its
    /// newline is left for the next read; one a crash cut short is skipped once the next record follows it (its
    /// create never returned, so the coordinator asked again).
    private func catchUp() {
        let data = Self.read(journal, from: journalRead)
        guard let end = data.lastIndex(of: UInt8(ascii: "\n")) else { return }
        let decoder = JSONDecoder()
        for line in data[..<end].split(separator: UInt8(ascii: "\n")) {
            guard let entry = try? decoder.decode(JournalEntry.self, from: Data(line)) else { continue }
            if let created = entry.created { instances[created.id] = created }
            if let destroyed = entry.destroyed { instances[destroyed] = nil }
        }
        journalRead += UInt64(end + 1)
    }

    public func create(_ request: CreateRequest) async throws(ProviderError) -> Instance {
        catchUp()
        let id = "sim-\(request.nodeID)"
        if let existing = instances[id] { return existing }
        let instance = Instance(id: id, tags: request.tags, status: .running, address: "127.0.0.1", launchedAt: Date())
        do {
            try Self.append(Self.line(request.agent), to: spool)
            try Self.append(Self.record(JournalEntry(created: instance)), to: journal)
        } catch {
            throw ProviderError(.createFailed, provider: name, "cannot write \(spool): \(error)")
        }
        instances[id] = instance
        return instance
    }

    public func destroy(instanceID: String, reason: String) async throws(ProviderError) {
        catchUp()
        guard instances.removeValue(forKey: instanceID) != nil else { return }
        do {
            try Self.append(Self.record(JournalEntry(destroyed: instanceID)), to: journal)
        } catch {
            throw ProviderError(.destroyFailed, provider: name, "cannot write \(journal): \(error)")
        }
    }

    public func list(tags: [String: String]) async throws(ProviderError) -> [Instance] {
        catchUp()
        return instances.values.filter { instance in tags.allSatisfy { instance.tags[$0.key] == $0.value } }
    }

    public func describe(instanceID: String) async throws(ProviderError) -> Instance? {
        catchUp()
        return instances[instanceID]
    }

    /// A journal line starts with a newline too: whatever a crash left unfinished before it stays a line of its own.
    static func record(_ value: some Encodable) throws -> [UInt8] {
        [UInt8(ascii: "\n")] + (try line(value))
    }

    static func line(_ value: some Encodable) throws -> [UInt8] {
        var line = try JSONEncoder().encode(value)
        line.append(UInt8(ascii: "\n"))
        return Array(line)
    }

    /// The file's bytes from `offset` to its end (none when it does not exist yet).
    static func read(_ path: String, from offset: UInt64) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var at = off_t(offset)
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, at) }
            guard n > 0 else { return out }
            out += chunk[..<n]
            at += off_t(n)
        }
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
