import GRDB
import struct Foundation.Date

extension SQLiteStore {
    public func createUser(name: String, passwordHash: String, admin: Bool, at: Date) async throws -> UserRecord {
        try await pool.write { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM users WHERE name = ?", arguments: [name]) == nil else {
                throw StoreError(.conflict, "user \(name) exists")
            }
            try db.execute(sql: "INSERT INTO users(name, password_hash, admin, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [name, passwordHash, admin, at.timeIntervalSince1970])
        }
        return UserRecord(name: name, admin: admin, disabled: false, roles: [:], createdAt: at)
    }

    public func userCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM users") ?? 0 }
    }

    /// The user and their password hash, for a login.
    public func userCredentials(name: String) async throws -> (UserRecord, String)? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE name = ?", arguments: [name]) else { return nil }
            return (try Self.userRecord(db, row), row["password_hash"])
        }
    }

    public func users() async throws -> [UserRecord] {
        try await pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY name").map { try Self.userRecord(db, $0) } }
    }

    public func setPassword(user: String, passwordHash: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE users SET password_hash = ? WHERE name = ?", arguments: [passwordHash, user])
            guard db.changesCount > 0 else { throw StoreError(.notFound, "user \(user) does not exist") }
            // A new password ends every session: whoever had the old one is out.
            try db.execute(sql: "DELETE FROM api_tokens WHERE user = ? AND kind = 'session'", arguments: [user])
        }
    }

    public func setDisabled(user: String, disabled: Bool) async throws -> UserRecord {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE name = ?", arguments: [user]) else {
                throw StoreError(.notFound, "user \(user) does not exist")
            }
            var record = try Self.userRecord(db, row)
            if disabled { try UserRules.keepsAnAdmin(target: record, enabledAdmins: try Self.enabledAdmins(db), change: "disabling them") }
            try db.execute(sql: "UPDATE users SET disabled = ? WHERE name = ?", arguments: [disabled, user])
            if disabled { try db.execute(sql: "DELETE FROM api_tokens WHERE user = ? AND kind = 'session'", arguments: [user]) }
            record.disabled = disabled
            return record
        }
    }

    public func deleteUser(_ user: String) async throws -> UserRecord {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE name = ?", arguments: [user]) else {
                throw StoreError(.notFound, "user \(user) does not exist")
            }
            let record = try Self.userRecord(db, row)
            try UserRules.keepsAnAdmin(target: record, enabledAdmins: try Self.enabledAdmins(db), change: "deleting them")
            try db.execute(sql: "DELETE FROM api_tokens WHERE user = ?", arguments: [user])
            try db.execute(sql: "DELETE FROM memberships WHERE user = ?", arguments: [user])
            try db.execute(sql: "DELETE FROM users WHERE name = ?", arguments: [user])
            return record
        }
    }

    public func prune(_ policy: RetentionPolicy, now: Date) async throws -> PruneResult {
        try await pool.write { db in
            let newestEvent = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM node_events") ?? 0
            let newestAudit = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_log") ?? 0
            let c = policy.cutoffs(now: now, newestEvent: newestEvent, newestAudit: newestAudit)
            var result = PruneResult()
            try db.execute(sql: "DELETE FROM node_events WHERE at < ? OR seq < ?", arguments: [c.eventsBefore, c.eventSeqBelow])
            result.events = db.changesCount
            try db.execute(sql: "DELETE FROM audit_log WHERE at < ? OR seq < ?", arguments: [c.auditBefore, c.auditSeqBelow])
            result.audit = db.changesCount
            try db.execute(sql: "DELETE FROM api_tokens WHERE coalesce(revoked_at, expires_at) < ?", arguments: [c.tokensBefore])
            result.tokens = db.changesCount
            return result
        }
    }

    static func enabledAdmins(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM users WHERE admin = 1 AND disabled = 0") ?? 0
    }

    /// Sets (or with nil removes) a user's role in a cluster.
    public func setRole(user: String, cluster: String, role: String?) async throws {
        try await pool.write { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM users WHERE name = ?", arguments: [user]) != nil else {
                throw StoreError(.notFound, "user \(user) does not exist")
            }
            if let role {
                try Self.requireCluster(db, cluster)
                try db.execute(sql: "INSERT INTO memberships(user, cluster, role) VALUES (?, ?, ?) ON CONFLICT(user, cluster) DO UPDATE SET role = excluded.role",
                               arguments: [user, cluster, role])
            } else {
                try db.execute(sql: "DELETE FROM memberships WHERE user = ? AND cluster = ?", arguments: [user, cluster])
            }
        }
    }

    public func addAPIToken(hash: String, shortID: String, user: String, name: String, kind: TokenRecord.Kind, expiresAt: Date?, at: Date) async throws -> TokenRecord {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO api_tokens(hash, short_id, user, name, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [hash, shortID, user, name, kind.rawValue, at.timeIntervalSince1970, expiresAt?.timeIntervalSince1970])
        }
        return TokenRecord(shortID: shortID, user: user, name: name, kind: kind, createdAt: at, expiresAt: expiresAt)
    }

    /// The user behind a token hash, when the token is neither revoked nor expired and the user not disabled.
    /// Marks the token used (at most once a minute, so reads stay reads).
    public func authenticate(tokenHash: String, now: Date) async throws -> (UserRecord, TokenRecord)? {
        let found = try await pool.read { db -> (UserRecord, TokenRecord)? in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM api_tokens WHERE hash = ?", arguments: [tokenHash]) else { return nil }
            let token = Self.tokenRecord(row)
            guard token.isValid(at: now),
                  let userRow = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE name = ? AND disabled = 0", arguments: [token.user])
            else { return nil }
            return (try Self.userRecord(db, userRow), token)
        }
        if let (_, token) = found, token.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true {
            try await pool.write { db in
                try db.execute(sql: "UPDATE api_tokens SET last_used_at = ? WHERE hash = ?", arguments: [now.timeIntervalSince1970, tokenHash])
            }
        }
        return found
    }

    public func tokens(user: String?) async throws -> [TokenRecord] {
        try await pool.read { db in
            let rows = user == nil
                ? try Row.fetchAll(db, sql: "SELECT * FROM api_tokens ORDER BY created_at")
                : try Row.fetchAll(db, sql: "SELECT * FROM api_tokens WHERE user = ? ORDER BY created_at", arguments: [user])
            return rows.map(Self.tokenRecord)
        }
    }

    /// Revokes the token named by its short id (of `user`'s, when given); returns it.
    public func revokeToken(shortID: String, user: String?, at: Date) async throws -> TokenRecord {
        try await pool.write { db in
            let row = user == nil
                ? try Row.fetchOne(db, sql: "SELECT * FROM api_tokens WHERE short_id = ?", arguments: [shortID])
                : try Row.fetchOne(db, sql: "SELECT * FROM api_tokens WHERE short_id = ? AND user = ?", arguments: [shortID, user])
            guard let row else { throw StoreError(.notFound, "no token \(shortID)") }
            try db.execute(sql: "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE short_id = ?", arguments: [at.timeIntervalSince1970, shortID])
            var token = Self.tokenRecord(row)
            token.revokedAt = token.revokedAt ?? at
            return token
        }
    }

    @discardableResult
    public func appendAudit(_ entry: AuditEntry) async throws -> AuditEntry {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO audit_log(at, actor, action, cluster, target, outcome, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [entry.at.timeIntervalSince1970, entry.actor, entry.action, entry.cluster, entry.target, entry.outcome, entry.source])
            var stored = entry
            stored.seq = db.lastInsertedRowID
            return stored
        }
    }

    public func audit(after: Int64, limit: Int) async throws -> [AuditEntry] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [after, limit]).map { row in
                AuditEntry(seq: row["seq"], at: Date(timeIntervalSince1970: row["at"]), actor: row["actor"], action: row["action"],
                           cluster: row["cluster"], target: row["target"], outcome: row["outcome"], source: row["source"])
            }
        }
    }

    static func userRecord(_ db: Database, _ row: Row) throws -> UserRecord {
        let name: String = row["name"]
        var roles: [String: String] = [:]
        for m in try Row.fetchAll(db, sql: "SELECT cluster, role FROM memberships WHERE user = ?", arguments: [name]) {
            roles[m["cluster"]] = m["role"]
        }
        return UserRecord(name: name, admin: row["admin"], disabled: row["disabled"], roles: roles,
                          createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }

    static func tokenRecord(_ row: Row) -> TokenRecord {
        TokenRecord(shortID: row["short_id"], user: row["user"], name: row["name"],
                    kind: TokenRecord.Kind(rawValue: row["kind"]) ?? .api, createdAt: Date(timeIntervalSince1970: row["created_at"]),
                    expiresAt: (row["expires_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    revokedAt: (row["revoked_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    lastUsedAt: (row["last_used_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}
