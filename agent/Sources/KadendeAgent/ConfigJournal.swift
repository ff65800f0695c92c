import KadendeSupport
import KadendeWire
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the agent remembers of configuration across restarts, in its data directory:
/// - `config/applied.json`: the outcome of the last application (its ack) and, when it succeeded, the revision,
///   so that its probes come back with the agent and a second delivery is recognised;
/// - `config/pending.json`: a revision being applied and which of its commands started and finished, so that an
///   agent restarted mid-apply finishes the revision or reports it failed, never neither.
struct ConfigJournal: Sendable {
    let directory: String

    struct Applied: Codable, Sendable {
        var ack: Ack
        var config: ConfigRevision?
    }

    struct Pending: Codable, Sendable {
        var config: ConfigRevision
        var facts: [String: String]
        var started: [String] = []
        var finished: [String] = []
    }

    init(dataDir: String) {
        directory = dataDir + "/config"
    }

    func applied() -> Applied? { read("applied.json") }
    func pending() -> Pending? { read("pending.json") }

    func save(_ applied: Applied) throws {
        try write(applied, "applied.json")
        unlink(directory + "/pending.json")
    }

    func save(_ pending: Pending) throws { try write(pending, "pending.json") }

    private func read<T: Decodable>(_ name: String) -> T? {
        guard let bytes = try? SecureFile.read(directory + "/" + name) else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(bytes))
    }

    private func write<T: Encodable>(_ value: T, _ name: String) throws {
        try SecureFile.makeDirectory(directory)
        try SecureFile.write(Array(try JSONEncoder().encode(value)), to: directory + "/" + name)
    }
}

#if canImport(Glibc)
import Glibc
#endif
