import Crypto
import Foundation
import KadendeCoordinator
import KadendeModel
import KadendeProviders
import Testing

/// The HTTPS listener nodes fetch kadende-agent from, checked with the real `curl` a node runs, against the CA
/// that user-data carries.
@Suite struct ArtifactListenerTests {
    /// A directory with one artifact as `scripts/package-agent` lays it out (any bytes will do: the listener serves
    /// them; the node checks the hash).
    static func artifacts(version: String = KadendeVersion.current, corrupt: Bool = false) throws -> (dir: String, sha256: String, bytes: Data) {
        let dir = try Paths.temporaryDirectory("artifacts")
        let bytes = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let name = "kadende-agent-\(version)-\(Architecture.current)"
        try bytes.write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
        let sha = Hex.encode(SHA256.hash(data: bytes))
        let recorded = corrupt ? String(repeating: "0", count: 64) : sha
        try "\(recorded)  \(name)\n".write(toFile: "\(dir)/\(name).sha256", atomically: true, encoding: .utf8)
        return (dir, sha, bytes)
    }

    @Test func nodesFetchTheAgentOverHTTPSCheckedAgainstTheCoordinatorsCA() async throws {
        let artifacts = try Self.artifacts()
        defer { try? FileManager.default.removeItem(atPath: artifacts.dir) }
        let coordinator = try await InProcessCoordinator(label: "artifacts") { $0.agentArtifactsDirectory = artifacts.dir }
        defer { Task { await coordinator.stop() } }
        let port = try #require(await coordinator.coordinator.artifactPort())
        let ca = coordinator.directory + "/pki/ca.pem"
        let base = "https://127.0.0.1:\(port)/v1/agent"

        let fetched = try await Curl.run(["--fail", "--cacert", ca, "\(base)/\(KadendeVersion.current)/\(Architecture.current)"])
        #expect(fetched.status == 0)
        // Compared by digest: a mismatch of 300 KB would be diffed byte by byte for the failure message.
        #expect(fetched.output.count == artifacts.bytes.count && Hex.encode(SHA256.hash(data: fetched.output)) == artifacts.sha256)
        let listing = try await Curl.run(["--fail", "--cacert", ca, base])
        #expect(String(decoding: listing.output, as: UTF8.self).contains(artifacts.sha256))

        // Without the coordinator's CA, curl refuses the listener (60: peer certificate cannot be authenticated).
        #expect(try await Curl.run([base]).status == 60)
        // A version or architecture that is not there: a JSON error, not an empty file a node would try to run.
        let missing = try await Curl.run(["--cacert", ca, "--write-out", "\n%{http_code}", "\(base)/9.9.9/\(Architecture.current)"])
        let text = String(decoding: missing.output, as: UTF8.self)
        #expect(text.hasSuffix("\n404") && text.contains("not_found"), "\(text)")
    }

    @Test func anArtifactWhoseHashDoesNotMatchStopsTheCoordinatorFromStarting() async throws {
        let artifacts = try Self.artifacts(corrupt: true)
        defer { try? FileManager.default.removeItem(atPath: artifacts.dir) }
        let error = await #expect(throws: CoordinatorError.self) {
            _ = try await InProcessCoordinator(label: "artifacts-bad") { $0.agentArtifactsDirectory = artifacts.dir }
        }
        #expect(error?.code == .artifacts && error?.message.contains("repackage") == true)
    }

    @Test func theCoordinatorOffersItsOwnVersionFirst() throws {
        let own = try Self.artifacts()
        defer { try? FileManager.default.removeItem(atPath: own.dir) }
        let other = "kadende-agent-0.0.9-\(Architecture.current)"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: "\(own.dir)/\(other)"))
        let loaded = try AgentArtifacts.load(directory: own.dir)
        #expect(loaded.available().count == 2)
        #expect(loaded.offered(arch: Architecture.current)?.version == KadendeVersion.current)
        #expect(loaded.offered(arch: "riscv64") == nil)
    }
}
