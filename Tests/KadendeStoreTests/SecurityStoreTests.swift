import Foundation
import KadendeModel
import KadendeStore
import Testing

/// Store rules that keep what the network can make the coordinator write bounded and what a certificate can do
/// honest, on SQLite and PostgreSQL.
@Suite struct SecurityStoreTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func node(_ id: String) -> NodeRecord {
        NodeRecord(id: id, cluster: "default", group: "web", revision: 1, state: .requested, stateReason: "test", stateSince: t0, createdAt: t0)
    }

    func certificate(_ serial: String, _ node: String) -> CertificateRecord {
        CertificateRecord(serial: serial, nodeID: node, notBefore: t0, notAfter: t0 + 86_400)
    }

    /// A renewal checks what hello checks and revokes what it replaces. Defends against a node being terminated
    /// that got a fresh, unrevoked certificate, and against the replaced one staying valid beside its successor.
    @Test(arguments: StoreKind.allCases) func aRenewalRevokesWhatItReplacesAndNeedsALiveNodeAndAGoodCertificate(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        _ = try await store.applyGroup(GroupSpec(name: "web", provider: "process", size: .init(desired: 1, min: 0, max: 2)), at: t0)
        let id = "n-0000000000000001"
        try await store.recordNodeIntent(node(id), tokenHash: "t", tokenExpiry: t0 + 900, at: t0)
        try await store.redeemToken(hash: "t", certificate: certificate("aa", id), at: t0)

        try await store.renewCertificate(replacing: "aa", with: certificate("bb", id), at: t0 + 1)
        #expect(try await store.certificate(serial: "aa")?.revoked == true)
        #expect(try await store.certificate(serial: "bb")?.revoked == false)
        let events = try await store.listEvents(cluster: nil, group: nil, after: 0, limit: 100)
        #expect(events.contains { $0.kind == .certificateRenewed && $0.nodeID == id })

        // The replaced certificate cannot renew again, nor can one the store never issued to this node.
        for serial in ["aa", "zz"] {
            let error = await #expect(throws: StoreError.self) {
                try await store.renewCertificate(replacing: serial, with: self.certificate("cc-\(serial)", id), at: t0 + 2)
            }
            #expect(error?.code == .revoked)
            #expect(try await store.certificate(serial: "cc-\(serial)") == nil)
        }
        // A node being terminated gets no new certificate.
        try await store.transition(nodeID: id, to: .terminating, reason: "test", at: t0 + 3)
        let finished = await #expect(throws: StoreError.self) { try await store.renewCertificate(replacing: "bb", with: self.certificate("dd", id), at: t0 + 4) }
        #expect(finished?.code == .revoked || finished?.code == .nodeFinished)
        #expect(try await store.certificate(serial: "dd") == nil)
    }

    /// Events, audit entries and spent tokens have a retention by age and by count. Defends against tables that
    /// anyone who reaches a port could grow without end.
    @Test(arguments: StoreKind.allCases) func retentionPrunesByAgeAndCount(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        for i in 0..<10 {
            try await store.appendEvent(NodeEvent(at: t0 + Double(i) * 86_400, cluster: "default", group: "web", nodeID: nil, kind: .groupApplied, reason: "e\(i)"))
            try await store.appendAudit(AuditEntry(at: t0 + Double(i) * 86_400, actor: "a", action: "x", outcome: "ok"))
        }
        _ = try await store.createUser(name: "otto", passwordHash: "h", admin: false, at: t0)
        _ = try await store.addAPIToken(hash: "old", shortID: "tok_old", user: "otto", name: "n", kind: .session, expiresAt: t0, at: t0)
        _ = try await store.addAPIToken(hash: "new", shortID: "tok_new", user: "otto", name: "n", kind: .api, expiresAt: t0 + 100 * 86_400, at: t0)
        var policy = RetentionPolicy()
        policy.eventAge = 5 * 86_400   // keeps days 5…9 (now is day 10)
        policy.eventCount = 3          // …and of those the newest three
        policy.auditAge = 8 * 86_400   // keeps days 2…9
        policy.auditCount = 1_000
        policy.tokenAge = 86_400
        let removed = try await store.prune(policy, now: t0 + 10 * 86_400)
        #expect(removed == PruneResult(events: 7, audit: 2, tokens: 1))
        #expect(try await store.listEvents(cluster: nil, group: nil, after: 0, limit: 100).map(\.reason) == ["e7", "e8", "e9"])
        #expect(try await store.audit(after: 0, limit: 100).count == 8)
        #expect(try await store.tokens(user: "otto").map(\.shortID) == ["tok_new"])
        #expect(try await store.prune(policy, now: t0 + 10 * 86_400) == PruneResult(), "a second prune finds nothing")
    }

    /// Accounts can be disabled and deleted, never the last enabled admin.
    @Test(arguments: StoreKind.allCases) func usersAreDisabledAndDeletedButTheLastAdminStays(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        _ = try await store.createUser(name: "ada", passwordHash: "h", admin: true, at: t0)
        _ = try await store.createUser(name: "otto", passwordHash: "h", admin: false, at: t0)
        _ = try await store.addAPIToken(hash: "s", shortID: "tok_s", user: "otto", name: "login", kind: .session, expiresAt: nil, at: t0)
        #expect(try await store.setDisabled(user: "otto", disabled: true).disabled)
        #expect(try await store.authenticate(tokenHash: "s", now: t0) == nil)
        #expect(try await store.setDisabled(user: "otto", disabled: false).disabled == false)
        #expect(try await store.authenticate(tokenHash: "s", now: t0) == nil, "disabling ended the session for good")
        for change in ["disable", "delete"] {
            let refused = await #expect(throws: StoreError.self) {
                if change == "disable" { _ = try await store.setDisabled(user: "ada", disabled: true) } else { _ = try await store.deleteUser("ada") }
            }
            #expect(refused?.code == .conflict, "\(change)")
        }
        _ = try await store.deleteUser("otto")
        #expect(try await store.users().map(\.name) == ["ada"])
        #expect(try await store.tokens(user: "otto").isEmpty)
    }

    /// A spent token is answered again only for the key it was spent for, soon after, before the node says hello.
    /// Defends both ways: a node whose `enrolled` was lost could never enrol (its only token spent), and a token must
    /// not become reusable by anyone else.
    @Test(arguments: StoreKind.allCases) func aLostEnrolmentAnswerIsGivenAgainOnlyForTheSameKey(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        _ = try await store.applyGroup(GroupSpec(name: "web", provider: "process", size: .init(desired: 1, min: 0, max: 2)), at: t0)
        let id = "n-0000000000000002"
        try await store.recordNodeIntent(node(id), tokenHash: "t", tokenExpiry: t0 + 900, at: t0)
        try await store.redeemToken(hash: "t", certificate: certificate("aa", id), keyDigest: "key-1", at: t0)
        func again(_ serial: String, key: String, at: Date) async throws { try await store.reissueEnrolment(tokenHash: "t", keyDigest: key, certificate: certificate(serial, id), grace: 600, at: at) }

        try await again("bb", key: "key-1", at: t0 + 10)
        #expect(try await store.certificate(serial: "bb") != nil)
        for (serial, key, at) in [("cc", "key-2", t0 + 20), ("dd", "key-1", t0 + 601)] {
            let refused = await #expect(throws: StoreError.self) { try await again(serial, key: key, at: at) }
            #expect(refused?.code == .tokenUsed, "\(key) at +\(at.timeIntervalSince(t0))")
            #expect(try await store.certificate(serial: serial) == nil)
        }
        try await store.transition(nodeID: id, to: .healthy, reason: "hello", at: t0 + 30)
        let afterHello = await #expect(throws: StoreError.self) { try await again("ee", key: "key-1", at: t0 + 40) }
        #expect(afterHello?.code == .tokenUsed)
    }
}

