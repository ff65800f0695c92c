import KadendeStore
import struct Foundation.Date

extension PostgresStore {
    public func createUser(name: String, passwordHash: String, admin: Bool, at: Date) async throws -> UserRecord {
        try await write { db in
            guard try await db.one("SELECT 1 FROM users WHERE name = $1", [name]) == nil else { throw StoreError(.conflict, "user \(name) exists") }
            try await db.query("INSERT INTO users(name, password_hash, admin, created_at) VALUES ($1, $2, $3, $4)",
                               [name, passwordHash, admin, at.timeIntervalSince1970])
        }
        return UserRecord(name: name, admin: admin, disabled: false, roles: [:], createdAt: at)
    }

    public func userCount() async throws -> Int {
        try await read { db in try await db.scalar("SELECT count(*) FROM users", as: Int.self) ?? 0 }
    }

    public func userCredentials(name: String) async throws -> (UserRecord, String)? {
        try await read { db in
            guard let row = try await db.one("SELECT * FROM users WHERE name = $1", [name]) else { return nil }
            return (try await Self.userRecord(db, row), try row.get("password_hash", as: String.self))
        }
    }

    public func users() async throws -> [UserRecord] {
        try await read { db in
            var users: [UserRecord] = []
            for row in try await db.query("SELECT * FROM users ORDER BY name") { users.append(try await Self.userRecord(db, row)) }
            return users
        }
    }

    public func setPassword(user: String, passwordHash: String) async throws {
        try await write { db in
            let updated = try await db.query("UPDATE users SET password_hash = $1 WHERE name = $2 RETURNING name", [passwordHash, user])
            guard !updated.isEmpty else { throw StoreError(.notFound, "user \(user) does not exist") }
            // A new password ends every session: whoever had the old one is out.
            try await db.query("DELETE FROM api_tokens WHERE user_name = $1 AND kind = 'session'", [user])
        }
    }

    public func setDisabled(user: String, disabled: Bool) async throws -> UserRecord {
        try await write { db in
            guard let row = try await db.one("SELECT * FROM users WHERE name = $1", [user]) else { throw StoreError(.notFound, "user \(user) does not exist") }
            var record = try await Self.userRecord(db, row)
            if disabled { try UserRules.keepsAnAdmin(target: record, enabledAdmins: try await Self.enabledAdmins(db), change: "disabling them") }
            try await db.query("UPDATE users SET disabled = $1 WHERE name = $2", [disabled, user])
            if disabled { try await db.query("DELETE FROM api_tokens WHERE user_name = $1 AND kind = 'session'", [user]) }
            record.disabled = disabled
            return record
        }
    }

    public func deleteUser(_ user: String) async throws -> UserRecord {
        try await write { db in
            guard let row = try await db.one("SELECT * FROM users WHERE name = $1", [user]) else { throw StoreError(.notFound, "user \(user) does not exist") }
            let record = try await Self.userRecord(db, row)
            try UserRules.keepsAnAdmin(target: record, enabledAdmins: try await Self.enabledAdmins(db), change: "deleting them")
            try await db.query("DELETE FROM api_tokens WHERE user_name = $1", [user])
            try await db.query("DELETE FROM memberships WHERE user_name = $1", [user])
            try await db.query("DELETE FROM users WHERE name = $1", [user])
            return record
        }
    }

    public func prune(_ policy: RetentionPolicy, now: Date) async throws -> PruneResult {
        try await write { db in
            let newestEvent = try await db.scalar("SELECT coalesce(max(seq), 0) FROM node_events", as: Int64.self) ?? 0
            let newestAudit = try await db.scalar("SELECT coalesce(max(seq), 0) FROM audit_log", as: Int64.self) ?? 0
            let c = policy.cutoffs(now: now, newestEvent: newestEvent, newestAudit: newestAudit)
            var result = PruneResult()
            // Counted in the database: a prune may remove a great many rows.
            result.events = try await db.scalar("WITH d AS (DELETE FROM node_events WHERE at < $1 OR seq < $2 RETURNING 1) SELECT count(*) FROM d",
                                                [c.eventsBefore, c.eventSeqBelow], as: Int.self) ?? 0
            result.audit = try await db.scalar("WITH d AS (DELETE FROM audit_log WHERE at < $1 OR seq < $2 RETURNING 1) SELECT count(*) FROM d",
                                               [c.auditBefore, c.auditSeqBelow], as: Int.self) ?? 0
            result.tokens = try await db.scalar("WITH d AS (DELETE FROM api_tokens WHERE coalesce(revoked_at, expires_at) < $1 RETURNING 1) SELECT count(*) FROM d",
                                                [c.tokensBefore], as: Int.self) ?? 0
            return result
        }
    }

    static func enabledAdmins(_ db: PGSession) async throws -> Int {
        try await db.scalar("SELECT count(*) FROM users WHERE admin AND NOT disabled", as: Int.self) ?? 0
    }

    public func setRole(user: String, cluster: String, role: String?) async throws {
        try await write { db in
            guard try await db.one("SELECT 1 FROM users WHERE name = $1", [user]) != nil else { throw StoreError(.notFound, "user \(user) does not exist") }
            if let role {
                try await Self.requireCluster(db, cluster)
                try await db.query("""
                    INSERT INTO memberships(user_name, cluster, role) VALUES ($1, $2, $3) ON CONFLICT(user_name, cluster) DO UPDATE SET role = excluded.role
                    """, [user, cluster, role])
            } else {
                try await db.query("DELETE FROM memberships WHERE user_name = $1 AND cluster = $2", [user, cluster])
            }
        }
    }

    public func addAPIToken(hash: String, shortID: String, user: String, name: String, kind: TokenRecord.Kind, expiresAt: Date?, at: Date) async throws -> TokenRecord {
        try await write { db in
            try await db.query("""
                INSERT INTO api_tokens(hash, short_id, user_name, name, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                """, [hash, shortID, user, name, kind.rawValue, at.timeIntervalSince1970, expiresAt?.timeIntervalSince1970])
        }
        return TokenRecord(shortID: shortID, user: user, name: name, kind: kind, createdAt: at, expiresAt: expiresAt)
    }

    /// The user behind a token hash when the token is neither revoked nor expired and the user not disabled; marks
    /// the token used at most once a minute, so reads stay reads.
    public func authenticate(tokenHash: String, now: Date) async throws -> (UserRecord, TokenRecord)? {
        let found = try await read { db -> (UserRecord, TokenRecord)? in
            guard let row = try await db.one("SELECT * FROM api_tokens WHERE hash = $1", [tokenHash]) else { return nil }
            let token = try Self.tokenRecord(row)
            guard token.isValid(at: now), let user = try await db.one("SELECT * FROM users WHERE name = $1 AND NOT disabled", [token.user]) else {
                return nil
            }
            return (try await Self.userRecord(db, user), token)
        }
        if let (_, token) = found, token.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true {
            try await write { db in
                try await db.query("UPDATE api_tokens SET last_used_at = $1 WHERE hash = $2", [now.timeIntervalSince1970, tokenHash])
            }
        }
        return found
    }

    public func tokens(user: String?) async throws -> [TokenRecord] {
        try await read { db in
            try await db.query("SELECT * FROM api_tokens WHERE ($1::text IS NULL OR user_name = $1) ORDER BY created_at", [user]).map(Self.tokenRecord)
        }
    }

    public func revokeToken(shortID: String, user: String?, at: Date) async throws -> TokenRecord {
        try await write { db in
            guard let row = try await db.one("SELECT * FROM api_tokens WHERE short_id = $1 AND ($2::text IS NULL OR user_name = $2)", [shortID, user]) else {
                throw StoreError(.notFound, "no token \(shortID)")
            }
            try await db.query("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE short_id = $2", [at.timeIntervalSince1970, shortID])
            var token = try Self.tokenRecord(row)
            token.revokedAt = token.revokedAt ?? at
            return token
        }
    }

    @discardableResult
    public func appendAudit(_ entry: AuditEntry) async throws -> AuditEntry {
        try await write { db in
            let seq = try await db.scalar("""
                INSERT INTO audit_log(at, actor, action, cluster, target, outcome, source) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq
                """, [entry.at.timeIntervalSince1970, entry.actor, entry.action, entry.cluster, entry.target, entry.outcome, entry.source], as: Int64.self)
            var stored = entry
            stored.seq = seq ?? 0
            return stored
        }
    }

    public func audit(after: Int64, limit: Int) async throws -> [AuditEntry] {
        try await read { db in
            try await db.query("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2", [after, limit]).map { row in
                AuditEntry(seq: try row.get("seq"), at: Self.date(try row.get("at")), actor: try row.get("actor"), action: try row.get("action"),
                           cluster: try row.get("cluster"), target: try row.get("target"), outcome: try row.get("outcome"), source: try row.get("source"))
            }
        }
    }

    static func userRecord(_ db: PGSession, _ row: PGRow) async throws -> UserRecord {
        let name: String = try row.get("name")
        var roles: [String: String] = [:]
        for m in try await db.query("SELECT cluster, role FROM memberships WHERE user_name = $1", [name]) {
            roles[try m.get("cluster")] = try m.get("role")
        }
        return UserRecord(name: name, admin: try row.get("admin"), disabled: try row.get("disabled"), roles: roles,
                          createdAt: date(try row.get("created_at")))
    }

    static func tokenRecord(_ row: PGRow) throws -> TokenRecord {
        TokenRecord(shortID: try row.get("short_id"), user: try row.get("user_name"), name: try row.get("name"),
                    kind: TokenRecord.Kind(rawValue: try row.get("kind")) ?? .api, createdAt: date(try row.get("created_at")),
                    expiresAt: try row.get("expires_at", as: Double?.self).map(date),
                    revokedAt: try row.get("revoked_at", as: Double?.self).map(date),
                    lastUsedAt: try row.get("last_used_at", as: Double?.self).map(date))
    }
}
