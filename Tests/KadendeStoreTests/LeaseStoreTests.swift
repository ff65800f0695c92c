import Foundation
import KadendeModel
import KadendeStore
import Testing

/// Group leases among replicas (PostgreSQL): a fair share each, handed over on release or expiry with a new term,
/// and a write under a lost term fenced off with nothing written.
@Suite struct LeaseStoreTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func seeded() async throws -> (StoreFixture, any Store)? {
        guard let fixture = try StoreFixture.make(.postgres) else { return nil }
        let store = try await fixture.open()
        for name in ["a", "b", "c", "d"] {
            _ = try await store.applyGroup(GroupSpec(name: name, provider: "process", size: .init(desired: 1, min: 0, max: 3)), at: t0)
        }
        return (fixture, store)
    }

    @Test func replicasShareGroupsFairlyAndHandOverWithANewTerm() async throws {
        guard let (_, store) = try await seeded() else { return }
        #expect(try await store.leaseGroups(owner: "r1", duration: 30).map(\.group) == ["a", "b", "c", "d"], "alone, r1 takes every group")
        #expect(try await store.leaseGroups(owner: "r2", duration: 30).isEmpty, "nothing is free yet")
        // r1 sees a second live replica and gives back what is beyond its share; r2 takes it under term 2.
        #expect(try await store.leaseGroups(owner: "r1", duration: 30).map(\.group) == ["a", "b"])
        let taken = try await store.leaseGroups(owner: "r2", duration: 30)
        #expect(taken.map(\.group) == ["c", "d"] && taken.allSatisfy { $0.term == 2 && $0.acquired })
        #expect(try await store.leaseGroups(owner: "r2", duration: 30).allSatisfy { !$0.acquired }, "renewed, not taken again")

        // A graceful shutdown hands everything over at once.
        try await store.releaseLeases(owner: "r2")
        let all = try await store.leaseGroups(owner: "r1", duration: 30)
        #expect(all.map(\.group) == ["a", "b", "c", "d"])
        #expect(all.first { $0.group == "c" }?.term == 3)
    }

    @Test func anOwnerWhoseLeaseRanOutIsFencedOff() async throws {
        guard let (_, store) = try await seeded() else { return }
        // r1's lease lasts a millisecond: as if it were paused past its expiry.
        let stale = try #require(try await store.leaseGroups(owner: "r1", duration: 0.001).first { $0.group == "a" })
        let fresh = try #require(try await store.leaseGroups(owner: "r2", duration: 30).first { $0.group == "a" })
        #expect(fresh.term == stale.term + 1)
        let before = try await store.listEvents(cluster: nil, group: nil, after: 0, limit: 1000).count
        let event = NodeEvent(at: t0, cluster: "default", group: "a", nodeID: nil, kind: .groupApplied, reason: "written by the paused owner")
        let fenced = await #expect(throws: StoreError.self) {
            try await Fence.$current.withValue(stale) { try await store.appendEvent(event) }
        }
        #expect(fenced?.code == .fenced, "\(String(describing: fenced))")
        let node = NodeRecord(id: "n-00000000000000aa", cluster: "default", group: "a", revision: 1, state: .requested, stateReason: "x",
                              stateSince: t0, createdAt: t0)
        await #expect(throws: StoreError.self) {
            try await Fence.$current.withValue(stale) { try await store.recordNodeIntent(node, tokenHash: "x", tokenExpiry: self.t0 + 60, at: self.t0) }
        }
        #expect(try await store.listEvents(cluster: nil, group: nil, after: 0, limit: 1000).count == before, "nothing written")
        #expect(try await store.node(id: node.id) == nil)
        // The new owner writes.
        try await Fence.$current.withValue(fresh) { try await store.appendEvent(event) }
        #expect(try await store.listEvents(cluster: nil, group: nil, after: 0, limit: 1000).count == before + 1)
    }
}
