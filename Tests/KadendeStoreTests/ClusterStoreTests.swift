import Foundation
import KadendeModel
import KadendeStore
import Testing

/// Clusters are tenants: nothing names a cluster that an admin has not created, and deleting one leaves nothing
/// of it behind but its history.
@Suite struct ClusterStoreTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kd-clusters-\(UUID())").path
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    init() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    @Test(arguments: StoreKind.allCases) func nothingNamesAClusterThatWasNotCreated(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        #expect(try await store.clusters().map(\.name) == ["default"])
        _ = try await store.createUser(name: "otto", passwordHash: "$scrypt$y", admin: false, at: t0)
        var spec = GroupSpec(name: "web", provider: "process", size: .init(desired: 1, min: 0, max: 5))
        spec.cluster = "blue"
        for attempt: () async throws -> Void in [
            { _ = try await store.applyGroup(spec, at: self.t0) },
            { try await store.setRole(user: "otto", cluster: "blue", role: "viewer") },
            { try await store.setNodeQuota(cluster: "blue", quota: 3, at: self.t0) },
            { try await store.setSecret(cluster: "blue", name: "provider/ec2", sealed: [1, 2], summary: "k", at: self.t0) },
            { try await store.deleteCluster(name: "blue", at: self.t0) },
        ] {
            let error = await #expect(throws: StoreError.self) { try await attempt() }
            #expect(error?.code == .notFound && error?.message.contains("cluster blue does not exist") == true, "\(String(describing: error))")
        }
        #expect(try await store.groups(cluster: nil).isEmpty)
        #expect(try await store.clusters().map(\.name) == ["default"])

        _ = try await store.createCluster(name: "blue", at: t0)
        let again = await #expect(throws: StoreError.self) { try await store.createCluster(name: "blue", at: self.t0) }
        #expect(again?.code == .conflict)
        _ = try await store.applyGroup(spec, at: t0)
        try await store.setRole(user: "otto", cluster: "blue", role: "viewer")
        try await store.setNodeQuota(cluster: "blue", quota: 3, at: t0)
        let blue = try #require(try await store.cluster(name: "blue"))
        #expect(blue.members == ["otto": "viewer"] && blue.nodeQuota == 3 && blue.createdAt == t0)
    }

    @Test(arguments: StoreKind.allCases) func aClusterIsDeletedOnlyWhenEmptyAndTakesItsMembersAndCredentialsWithIt(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        _ = try await store.createCluster(name: "blue", at: t0)
        _ = try await store.createUser(name: "otto", passwordHash: "$scrypt$y", admin: false, at: t0)
        try await store.setRole(user: "otto", cluster: "blue", role: "operator")
        try await store.setSecret(cluster: "blue", name: "provider/ec2", sealed: [1, 2], summary: "k", at: t0)
        var spec = GroupSpec(name: "web", provider: "process", size: .init(desired: 1, min: 0, max: 5))
        spec.cluster = "blue"
        _ = try await store.applyGroup(spec, at: t0)
        try await store.recordNodeIntent(NodeRecord(id: "n-0000000000000001", cluster: "blue", group: "web", revision: 1, state: .requested,
                                                    stateReason: "test", stateSince: t0, createdAt: t0),
                                         tokenHash: "h1", tokenExpiry: t0 + 900, at: t0)

        let withGroup = await #expect(throws: StoreError.self) { try await store.deleteCluster(name: "blue", at: self.t0) }
        #expect(withGroup?.code == .conflict && withGroup?.message.contains("still has groups (web)") == true)
        _ = try await store.markGroupDeleted(cluster: "blue", name: "web", at: t0)
        let winding = await #expect(throws: StoreError.self) { try await store.deleteCluster(name: "blue", at: self.t0) }
        #expect(winding?.code == .conflict, "a deleted group whose node is alive still holds the cluster")
        try await store.transition(nodeID: "n-0000000000000001", to: .failed, reason: "test", at: t0)
        try await store.purgeGroup(cluster: "blue", name: "web")

        try await store.deleteCluster(name: "blue", at: t0 + 1)
        #expect(try await store.cluster(name: "blue") == nil)
        #expect(try await store.userCredentials(name: "otto")?.0.roles == [:])
        #expect(try await store.sealedSecret(cluster: "blue", name: "provider/ec2") == nil)
        let kinds = try await store.listEvents(cluster: "blue", group: nil, after: 0, limit: 100).map(\.kind)
        #expect(kinds.first == .clusterCreated && kinds.last == .clusterDeleted, "its history stays: \(kinds)")
        // The name is free again, with nothing of the old cluster in it.
        #expect(try await store.createCluster(name: "blue", at: t0 + 2).members.isEmpty)
        #expect(try await store.nodeQuota(cluster: "blue") == nil)
    }
}
