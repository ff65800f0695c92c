import Foundation
import KadendeStore
import Testing

@Suite struct UserStoreTests {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kd-users-\(UUID())").path
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    init() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    @Test(arguments: StoreKind.allCases) func usersHaveRolesPerClusterAndUniqueNames(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        #expect(try await store.userCount() == 0)
        _ = try await store.createUser(name: "ada", passwordHash: "$scrypt$x", admin: true, at: t0)
        _ = try await store.createUser(name: "otto", passwordHash: "$scrypt$y", admin: false, at: t0)
        let duplicate = await #expect(throws: StoreError.self) { try await store.createUser(name: "ada", passwordHash: "h", admin: false, at: t0) }
        #expect(duplicate?.code == .conflict)
        for cluster in ["a", "b"] { _ = try await store.createCluster(name: cluster, at: t0) }
        try await store.setRole(user: "otto", cluster: "a", role: "operator")
        try await store.setRole(user: "otto", cluster: "b", role: "viewer")
        try await store.setRole(user: "otto", cluster: "b", role: nil)
        let (otto, hash) = try #require(try await store.userCredentials(name: "otto"))
        #expect(otto.roles == ["a": "operator"] && !otto.admin && hash == "$scrypt$y")
        await #expect(throws: StoreError.self) { try await store.setRole(user: "nobody", cluster: "a", role: "viewer") }
        #expect(try await store.users().map(\.name) == ["ada", "otto"])
    }

    @Test(arguments: StoreKind.allCases) func tokensAuthenticateUntilRevokedOrExpiredAndSessionsEndWithAPasswordChange(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        _ = try await store.createUser(name: "otto", passwordHash: "h", admin: false, at: t0)
        _ = try await store.addAPIToken(hash: "api", shortID: "kdk_aaaa", user: "otto", name: "ci", kind: .api, expiresAt: t0 + 3600, at: t0)
        _ = try await store.addAPIToken(hash: "session", shortID: "kdk_bbbb", user: "otto", name: "login", kind: .session, expiresAt: nil, at: t0)
        #expect(try await store.authenticate(tokenHash: "api", now: t0 + 10)?.0.name == "otto")
        #expect(try await store.authenticate(tokenHash: "api", now: t0 + 3600) == nil, "expired")
        #expect(try await store.authenticate(tokenHash: "nope", now: t0) == nil)
        #expect(try await store.tokens(user: "otto").first { $0.shortID == "kdk_aaaa" }?.lastUsedAt == t0 + 10)

        let revoked = try await store.revokeToken(shortID: "kdk_aaaa", user: "otto", at: t0 + 20)
        #expect(revoked.revokedAt == t0 + 20)
        #expect(try await store.authenticate(tokenHash: "api", now: t0 + 21) == nil, "revoked")
        await #expect(throws: StoreError.self) { try await store.revokeToken(shortID: "kdk_bbbb", user: "someone-else", at: t0) }

        #expect(try await store.authenticate(tokenHash: "session", now: t0 + 30) != nil)
        try await store.setPassword(user: "otto", passwordHash: "h2")
        #expect(try await store.authenticate(tokenHash: "session", now: t0 + 31) == nil, "a new password ends sessions")
        #expect(try await store.userCredentials(name: "otto")?.1 == "h2")
    }

    @Test(arguments: StoreKind.allCases) func theAuditLogKeepsWhoDidWhatInOrder(_ kind: StoreKind) async throws {
        guard let fixture = try StoreFixture.make(kind) else { return }
        let store = try await fixture.open()
        try await store.appendAudit(AuditEntry(at: t0, actor: "ada", action: "login", outcome: "ok", source: "127.0.0.1"))
        try await store.appendAudit(AuditEntry(at: t0 + 1, actor: "otto", action: "config.push", cluster: "a", target: "web", outcome: "forbidden"))
        let all = try await store.audit(after: 0, limit: 10)
        #expect(all.map(\.action) == ["login", "config.push"] && all.map(\.seq) == [1, 2])
        #expect(try await store.audit(after: 1, limit: 10).map(\.actor) == ["otto"])
    }
}
