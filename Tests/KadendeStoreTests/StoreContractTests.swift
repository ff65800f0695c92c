import Foundation
import KadendeModel
import KadendeStore
import Testing

/// The store contract: every test runs against SQLite and PostgreSQL (see `StoreFixture`).
@Suite struct StoreContractTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kd-store-\(UUID())").path
    var path: String { dir + "/kadende.sqlite" }
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    init() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func spec(desired: Int = 2) -> GroupSpec {
        GroupSpec(name: "web", provider: "process", size: .init(desired: desired, min: 0, max: 5))
    }

    func node(_ id: String, state: NodeState = .requested) -> NodeRecord {
        NodeRecord(id: id, cluster: "default", group: "web", revision: 1, state: state, stateReason: "test", stateSince: t0, createdAt: t0)
    }

    @Test(arguments: StoreKind.allCases) func applyNumbersRevisionsAndSkipsIdenticalSpecs(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        #expect(try await store.applyGroup(spec(), at: t0).group.revision == 1)
        let same = try await store.applyGroup(spec(), at: t0)
        #expect(!same.changed && same.group.revision == 1)
        #expect(try await store.applyGroup(spec(desired: 3), at: t0).group.revision == 2)
        #expect(try await store.group(cluster: "default", name: "web")?.spec.size.desired == 3)
    }

    @Test(arguments: StoreKind.allCases) func everythingSurvivesReopening(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        do {
            let store = try await fixture.open()
            _ = try await store.applyGroup(spec(), at: t0)
            try await store.recordNodeIntent(node("n-0000000000000001"), tokenHash: "h1", tokenExpiry: t0 + 900, at: t0)
            try await store.transition(nodeID: "n-0000000000000001", to: .provisioning, reason: "create", at: t0)
        }
        let reopened = try await fixture.open()
        let nodes = try await reopened.nodes(cluster: "default", group: "web")
        #expect(nodes.map(\.state) == [.provisioning])
        #expect(try await reopened.listEvents(cluster: nil, group: nil, after: 0, limit: 10).map(\.kind) == [.groupApplied, .nodeRequested, .nodeTransition])
    }

    @Test func journalIsWAL() async throws {
        _ = try SQLiteStore(path: path)
        // The -wal file exists while a connection is open in WAL mode.
        let store = try SQLiteStore(path: path)
        _ = try await store.applyGroup(spec(), at: t0)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test(arguments: StoreKind.allCases) func illegalTransitionIsRefusedAndChangesNothing(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        _ = try await store.applyGroup(spec(), at: t0)
        try await store.recordNodeIntent(node("n-0000000000000001"), tokenHash: "h1", tokenExpiry: t0 + 900, at: t0)
        let before = try await store.listEvents(cluster: nil, group: nil, after: 0, limit: 100).count
        let error = await #expect(throws: StoreError.self) {
            try await store.transition(nodeID: "n-0000000000000001", to: .healthy, reason: "skip ahead", at: t0)
        }
        #expect(error?.code == .illegalTransition)
        #expect(try await store.node(id: "n-0000000000000001")?.state == .requested)
        #expect(try await store.listEvents(cluster: nil, group: nil, after: 0, limit: 100).count == before)
    }

    @Test(arguments: StoreKind.allCases) func tokensAreSingleUseAndExpire(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        _ = try await store.applyGroup(spec(), at: t0)
        try await store.recordNodeIntent(node("n-0000000000000001"), tokenHash: "h1", tokenExpiry: t0 + 900, at: t0)
        try await store.recordNodeIntent(node("n-0000000000000002"), tokenHash: "h2", tokenExpiry: t0 + 900, at: t0)
        #expect(try await store.checkToken(hash: "h1", now: t0) == "n-0000000000000001")
        let cert = CertificateRecord(serial: "01", nodeID: "n-0000000000000001", notBefore: t0, notAfter: t0 + 86_400)
        try await store.redeemToken(hash: "h1", certificate: cert, at: t0)
        #expect(try await store.node(id: "n-0000000000000001")?.state == .enrolling)

        let reused = await #expect(throws: StoreError.self) { try await store.checkToken(hash: "h1", now: t0) }
        #expect(reused?.code == .tokenUsed)
        let expired = await #expect(throws: StoreError.self) { try await store.checkToken(hash: "h2", now: t0 + 901) }
        #expect(expired?.code == .tokenExpired)
        let unknown = await #expect(throws: StoreError.self) { try await store.checkToken(hash: "nope", now: t0) }
        #expect(unknown?.code == .invalidToken)
        // A token redeemed for another node's certificate is refused and stays unused.
        let wrong = CertificateRecord(serial: "02", nodeID: "n-0000000000000001", notBefore: t0, notAfter: t0 + 86_400)
        await #expect(throws: StoreError.self) { try await store.redeemToken(hash: "h2", certificate: wrong, at: t0) }
        #expect(try await store.checkToken(hash: "h2", now: t0) == "n-0000000000000002")
        #expect(try await store.certificate(serial: "02") == nil)

        // A retried create adds a token; the first used voids the node's others.
        try await store.addToken(nodeID: "n-0000000000000002", tokenHash: "h3", tokenExpiry: t0 + 900)
        #expect(try await store.checkToken(hash: "h2", now: t0) == "n-0000000000000002")
        #expect(try await store.checkToken(hash: "h3", now: t0) == "n-0000000000000002")
        try await store.redeemToken(hash: "h3", certificate: CertificateRecord(serial: "03", nodeID: "n-0000000000000002", notBefore: t0, notAfter: t0 + 86_400), at: t0)
        let voided = await #expect(throws: StoreError.self) { try await store.checkToken(hash: "h2", now: t0) }
        #expect(voided?.code == .invalidToken)
    }

    @Test(arguments: StoreKind.allCases) func finishedNodesLoseTheirCertificates(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        _ = try await store.applyGroup(spec(), at: t0)
        try await store.recordNodeIntent(node("n-0000000000000001"), tokenHash: "h1", tokenExpiry: t0 + 900, at: t0)
        try await store.redeemToken(hash: "h1", certificate: .init(serial: "01", nodeID: "n-0000000000000001", notBefore: t0, notAfter: t0 + 60), at: t0)
        try await store.transition(nodeID: "n-0000000000000001", to: .terminating, reason: "scale down", at: t0)
        #expect(try await store.certificate(serial: "01")?.revoked == true)
    }

    @Test(arguments: StoreKind.allCases) func eventsReachSubscribersAfterCommit(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        let stream = store.events.subscribe()
        _ = try await store.applyGroup(spec(), at: t0)
        var iterator = stream.makeAsyncIterator()
        let event = await iterator.next()
        #expect(event?.kind == .groupApplied)
        #expect(try await store.listEvents(cluster: nil, group: nil, after: 0, limit: 1).first == event)
    }

    @Test(arguments: StoreKind.allCases) func deletedGroupIsPurgedOnlyWithoutLiveNodes(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        _ = try await store.applyGroup(spec(), at: t0)
        try await store.recordNodeIntent(node("n-0000000000000001"), tokenHash: "h1", tokenExpiry: t0 + 900, at: t0)
        _ = try await store.markGroupDeleted(cluster: "default", name: "web", at: t0)
        await #expect(throws: StoreError.self) { try await store.purgeGroup(cluster: "default", name: "web") }
        try await store.transition(nodeID: "n-0000000000000001", to: .failed, reason: "gone", at: t0)
        try await store.purgeGroup(cluster: "default", name: "web")
        #expect(try await store.group(cluster: "default", name: "web") == nil)
    }
}
