import Foundation
import KadendeModel
@testable import KadendeProviders
import KadendeWire
import Testing

/// The benchmarks' simulated provider keeps its machines across a coordinator that crashes, as a cloud does: a new
/// provider on the same spool (a restarted coordinator) lists what the old one created and did not destroy.
@Suite struct SimulatedProviderTests {
    func request(_ nodeID: String, group: String = "sim") -> CreateRequest {
        CreateRequest(nodeID: nodeID, spec: GroupSpec(name: group, provider: "simulated", size: .init(desired: 1, min: 0, max: 1)),
                      tags: ["kadende.group": group, "kadende.node": nodeID],
                      agent: AgentConfig(nodeID: nodeID, endpoints: ["127.0.0.1:7443"], caPin: "sha256:00", token: "t-\(nodeID)"),
                      userData: .success(""))
    }

    @Test func machinesOutliveTheProviderThatMadeThem() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kadende-sim-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = dir + "/spool"

        let first = SimulatedProvider(spool: spool)
        let a = try await first.create(request("n-a"))
        let b = try await first.create(request("n-b"))
        #expect(try await first.create(request("n-a")) == a, "a create repeated for the same node returns its machine")
        try await first.destroy(instanceID: b.id, reason: "test")
        // A crash in the middle of a journal write leaves a torn line: skipped, nothing else lost.
        let handle = try #require(FileHandle(forWritingAtPath: spool + ".machines"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"created":{"id":"sim-n-torn","ta"#.utf8))
        try handle.close()

        let restarted = SimulatedProvider(spool: spool)
        #expect(try await restarted.list(tags: ["kadende.group": "sim"]).map(\.id) == [a.id])
        #expect(try await restarted.describe(instanceID: a.id) == a)
        #expect(try await restarted.describe(instanceID: b.id) == nil)
        let c = try await restarted.create(request("n-c"))
        #expect(Set(try await SimulatedProvider(spool: spool).list(tags: [:]).map(\.id)) == [a.id, c.id],
                "the record after the torn line is read whole")
        // The spool the load generator reads has one agent line per machine ever created, the repeat excluded.
        let lines = try String(contentsOfFile: spool, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
    }

    @Test func replicasOnOneSpoolSeeTheSameMachines() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kadende-sim-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (one, two) = (SimulatedProvider(spool: dir + "/spool"), SimulatedProvider(spool: dir + "/spool"))
        let a = try await one.create(request("n-a"))
        #expect(try await two.describe(instanceID: a.id) == a)
        #expect(try await two.create(request("n-a")) == a, "the other replica's create for the node finds its machine")
        try await two.destroy(instanceID: a.id, reason: "test")
        #expect(try await one.list(tags: [:]).isEmpty)
    }
}
