import Crypto
import KadendeAPI
import KadendeHTTP
import KadendeSupport
import NIOCore
import Foundation

/// The packaged agents in a directory (`kadende-agent-<version>-<arch>` beside its `.sha256`, as
/// `scripts/package-agent` writes them), read and checked once at start. A file whose hash does not match its
/// `.sha256` is refused with the reason: a node would refuse it anyway, after a wasted download.
public struct AgentArtifacts: ArtifactSource {
    struct Entry: Sendable {
        var info: APIAgentArtifact
        var bytes: ByteBuffer
    }

    private let entries: [String: Entry]

    public static let empty = AgentArtifacts(entries: [:])

    private init(entries: [String: Entry]) { self.entries = entries }

    public static func load(directory: String) throws -> AgentArtifacts {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw CoordinatorError(.artifacts, "cannot read agent artifacts in \(directory): \(error.localizedDescription)")
        }
        var entries: [String: Entry] = [:]
        for name in names where name.hasPrefix("kadende-agent-") && !name.hasSuffix(".sha256") {
            let parts = name.dropFirst("kadende-agent-".count).split(separator: "-")
            guard parts.count >= 2, let arch = parts.last else { continue }
            let version = parts.dropLast().joined(separator: "-")
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CoordinatorError(.artifacts, "cannot read \(path)")
            }
            let sha256 = Hex.encode(SHA256.hash(data: data))
            if let recorded = FileManager.default.contents(atPath: path + ".sha256").flatMap({ String(data: $0, encoding: .utf8) }),
               let expected = recorded.split(separator: " ").first, String(expected) != sha256 {
                throw CoordinatorError(.artifacts, "\(path) has SHA-256 \(sha256) but \(name).sha256 says \(expected); repackage it")
            }
            entries[key(version, String(arch))] = Entry(
                info: APIAgentArtifact(version: version, arch: String(arch), sha256: sha256, size: data.count,
                                       path: "/v1/agent/\(version)/\(arch)"),
                bytes: ByteBuffer(bytes: data))
        }
        return AgentArtifacts(entries: entries)
    }

    public func artifact(version: String, arch: String) -> (bytes: ByteBuffer, sha256: String)? {
        entries[Self.key(version, arch)].map { ($0.bytes, $0.info.sha256) }
    }

    public func available() -> [APIAgentArtifact] {
        entries.values.map(\.info).sorted { ($0.version, $0.arch) < ($1.version, $1.arch) }
    }

    /// What new nodes of `arch` get: this coordinator's own version when it is here, else the newest there is.
    public func offered(arch: String) -> APIAgentArtifact? {
        if let own = entries[Self.key(KadendeVersion.current, arch)] { return own.info }
        return available().filter { $0.arch == arch }
            .max { $0.version.compare($1.version, options: .numeric) == .orderedAscending }
    }

    private static func key(_ version: String, _ arch: String) -> String { version + "/" + arch }
}
