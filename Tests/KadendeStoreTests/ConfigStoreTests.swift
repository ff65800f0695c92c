import Foundation
import KadendeModel
import KadendeStore
import KadendeWire
import Testing

/// The store contract for what runs on nodes and what they say back: revisions, one active rollout per group,
/// desired revisions, acks and their failures, labels, heartbeats and sealed secrets (bytes round-trip exactly).
@Suite struct ConfigStoreTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func seeded(_ kind: StoreKind, nodes: Int) async throws -> (any Store)? {
        guard let fixture = try StoreFixture.make(kind) else { return nil }
        let store = try await fixture.open()
        _ = try await store.applyGroup(GroupSpec(name: "web", provider: "process", size: .init(desired: nodes, min: 0, max: 9)), at: t0)
        for i in 1...nodes {
            try await store.recordNodeIntent(NodeRecord(id: "n-000000000000000\(i)", cluster: "default", group: "web", revision: 1, state: .requested,
                                                        stateReason: "test", stateSince: t0, createdAt: t0 + Double(i)),
                                             tokenHash: "h\(i)", tokenExpiry: t0 + 900, at: t0)
        }
        return store
    }

    @Test(arguments: StoreKind.allCases) func pushesNumberRevisionsAndOneRolloutIsActiveAtATime(_ kind: StoreKind) async throws {
        guard let store = try await seeded(kind, nodes: 2) else { return }
        let push = try ConfigPush(yaml: "files:\n  - {path: /etc/app.conf, content: v1}\nmessage: first\n")
        let (revision, rollout) = try await store.pushConfig(push, cluster: "default", group: "web", at: t0)
        #expect(revision.revision == 1 && rollout.state == .running && rollout.revision == 1 && revision.message == "first")
        #expect(revision.config.files.first?.sha256 == ConfigRevision.sha256("v1"))
        let busy = await #expect(throws: StoreError.self) { try await store.pushConfig(push, cluster: "default", group: "web", at: self.t0) }
        #expect(busy?.code == .conflict)
        #expect(try await store.activeRollouts().map(\.id) == [rollout.id])

        try await store.setDesired(nodeIDs: ["n-0000000000000001", "n-0000000000000002"], revision: 1, rollout: rollout.id, at: t0 + 1)
        try await store.recordReports(["n-0000000000000001": (Ack(revision: 1, outcome: .applied), t0 + 2),
                                       "n-0000000000000002": (Ack(revision: 1, outcome: .failed, message: "exit 3"), t0 + 2)],
                                      events: [NodeEvent(at: t0 + 2, cluster: "", group: "", nodeID: "n-0000000000000002", kind: .configFailed, reason: "exit 3")])
        try await store.recordReports(["n-0000000000000002": (Ack(revision: 1, outcome: .applied), t0 + 3)], events: [])
        let configs = try await store.nodeConfigs(cluster: "default", group: "web")
        #expect(configs["n-0000000000000001"]?.reported?.outcome == .applied && configs["n-0000000000000001"]?.desired == 1)
        #expect(configs["n-0000000000000002"]?.reported?.outcome == .applied, "the newest report")
        #expect(configs["n-0000000000000002"]?.lastFailure?.message == "exit 3", "the last failure is kept")
        let failed = try await store.listEvents(cluster: "default", group: "web", after: 0, limit: 100).last
        #expect(failed?.kind == .configFailed, "an event without its cluster takes the node's")

        try await store.updateRollout(id: rollout.id, state: .succeeded, reason: "done", at: t0 + 4, events: [])
        try await store.setGroupConfigRevision(cluster: "default", group: "web", revision: 1)
        #expect(try await store.activeRollouts().isEmpty)
        #expect(try await store.group(cluster: "default", name: "web")?.configRevision == 1)
        let missing = await #expect(throws: StoreError.self) {
            try await store.startRollout(cluster: "default", group: "web", revision: 7, kind: .rollback, target: ConfigTarget(),
                                         policy: RolloutPolicy(), reason: "back", at: self.t0)
        }
        #expect(missing?.code == .notFound)
        let (second, _) = try await store.pushConfig(push, cluster: "default", group: "web", at: t0 + 5)
        #expect(second.revision == 2)
        #expect(try await store.configRevisions(cluster: "default", group: "web").map(\.revision) == [1, 2])
        #expect(try await store.rollouts(cluster: "default", group: "web", limit: 1).first?.revision == 2)
    }

    @Test(arguments: StoreKind.allCases) func desiredRevisionsAreReadInTheOrderTheyWereSetAndAPageNeverSplitsOne(_ kind: StoreKind) async throws {
        guard let store = try await seeded(kind, nodes: 4) else { return }
        let start = try await store.desiredSince(nil, limit: 10)
        #expect(start.changes.isEmpty)
        let ids = (1...4).map { "n-000000000000000\($0)" }
        try await store.setDesired(nodeIDs: Array(ids[0...2]), revision: 1, rollout: nil, at: t0)
        try await store.setDesired(nodeIDs: [ids[3]], revision: 1, rollout: nil, at: t0)
        try await store.setDesired(nodeIDs: [ids[0]], revision: 2, rollout: nil, at: t0)
        // A page of one call holds every node of that call still on its word (the first node moved on to revision 2):
        // a page never ends inside a call.
        let first = try await store.desiredSince(start.position, limit: 1)
        #expect(first.changes.map(\.nodeID).sorted() == [ids[1], ids[2]], "\(first.changes)")
        // Read from the start in pages of one call, the last word for each node is what it should run.
        var position = start.position
        var latest: [String: Int] = [:]
        var pages = 0
        while pages < 10 {
            let page = try await store.desiredSince(position, limit: 1)
            if page.changes.isEmpty { break }
            for change in page.changes {
                #expect(change.cluster == "default" && change.group == "web")
                latest[change.nodeID] = change.revision
            }
            position = page.position
            pages += 1
        }
        #expect(latest == [ids[0]: 2, ids[1]: 1, ids[2]: 1, ids[3]: 1])
        #expect(pages == 3)
        #expect(try await store.desiredSince(position, limit: 10).changes.isEmpty)
        #expect(try await store.desiredSince(nil, limit: 10).position == position)
    }

    @Test(arguments: StoreKind.allCases) func heartbeatsOnlyMoveForwardAndLabelsAndSecretsRoundTrip(_ kind: StoreKind) async throws {
        guard let store = try await seeded(kind, nodes: 2) else { return }
        try await store.recordHeartbeats(["n-0000000000000001": t0 + 10, "n-0000000000000002": t0 + 5])
        try await store.recordHeartbeats(["n-0000000000000001": t0 + 8])
        #expect(try await store.node(id: "n-0000000000000001")?.lastHeartbeat == t0 + 10, "an older beat arriving late changes nothing")
        #expect(try await store.allLiveNodes().map(\.id) == ["n-0000000000000001", "n-0000000000000002"])

        let labelled = try await store.setLabels(nodeID: "n-0000000000000002", labels: ["role": "canary", "zone": "b"], at: t0)
        #expect(labelled.labels == ["role": "canary", "zone": "b"])
        #expect(try await store.node(id: "n-0000000000000002")?.labels == ["role": "canary", "zone": "b"])

        let sealed: [UInt8] = [0, 1, 2, 0x7f, 0x80, 0xff, 0] + Array(repeating: 0xAB, count: 300)
        try await store.setSecret(cluster: "default", name: "provider/ec2", sealed: sealed, summary: "access key AKIA…WXYZ", at: t0)
        #expect(try await store.sealedSecret(cluster: "default", name: "provider/ec2") == sealed)
        #expect(try await store.secrets(cluster: "default").map(\.summary) == ["access key AKIA…WXYZ"])
        try await store.setNodeQuota(cluster: "default", quota: 3, at: t0)
        #expect(try await store.nodeQuota(cluster: "default") == 3)
        #expect(try await store.liveNodeCount(cluster: "default") == 2)
        try await store.deleteSecret(cluster: "default", name: "provider/ec2", at: t0)
        #expect(try await store.sealedSecret(cluster: "default", name: "provider/ec2") == nil)
        await #expect(throws: StoreError.self) { try await store.deleteSecret(cluster: "default", name: "provider/ec2", at: self.t0) }
    }
}
