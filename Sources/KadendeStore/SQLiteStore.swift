import GRDB
import KadendeModel
import struct Foundation.Date
import struct Foundation.Data
import class Foundation.JSONDecoder
import class Foundation.JSONEncoder

/// The embedded store: one SQLite file in WAL mode; every write is a `BEGIN IMMEDIATE` transaction (GRDB's
/// default for writes), so writers never upgrade a read lock and never see SQLITE_BUSY mid-transaction.
public final class SQLiteStore: Store {
    let pool: DatabasePool
    public let events = EventBus()

    public init(path: String) throws {
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
    }

    // MARK: Groups

    public func applyGroup(_ spec: GroupSpec, at: Date) async throws -> ApplyResult {
        let json = try Self.encode(spec)
        let (result, event) = try await pool.write { db -> (ApplyResult, NodeEvent?) in
            try Self.requireCluster(db, spec.cluster)
            let existing = try Self.fetchGroup(db, cluster: spec.cluster, name: spec.name)
            if let existing, !existing.deleted, existing.spec == spec {
                return (ApplyResult(group: existing, changed: false), nil)
            }
            let revision = (existing?.revision ?? 0) + 1
            try db.execute(sql: """
                INSERT INTO group_revisions(cluster, group_name, revision, spec, created_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [spec.cluster, spec.name, revision, json, at.timeIntervalSince1970])
            try db.execute(sql: """
                INSERT INTO groups(cluster, name, revision, deleted, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?)
                ON CONFLICT(cluster, name) DO UPDATE SET revision = excluded.revision, deleted = 0, updated_at = excluded.updated_at
                """, arguments: [spec.cluster, spec.name, revision, at.timeIntervalSince1970, at.timeIntervalSince1970])
            let event = try Self.insertEvent(db, NodeEvent(
                at: at, cluster: spec.cluster, group: spec.name, nodeID: nil, kind: .groupApplied,
                reason: "revision \(revision): size \(spec.size.desired) (min \(spec.size.min), max \(spec.size.max)) on provider \(spec.provider)"))
            let group = try Self.fetchGroup(db, cluster: spec.cluster, name: spec.name)!
            return (ApplyResult(group: group, changed: true), event)
        }
        events.publish(event.map { [$0] } ?? [])
        return result
    }

    public func group(cluster: String, name: String) async throws -> GroupRecord? {
        try await pool.read { db in try Self.fetchGroup(db, cluster: cluster, name: name) }
    }

    public func groups(cluster: String?) async throws -> [GroupRecord] {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT g.*, r.spec FROM groups g JOIN group_revisions r
                  ON r.cluster = g.cluster AND r.group_name = g.name AND r.revision = g.revision
                WHERE (? IS NULL OR g.cluster = ?) ORDER BY g.cluster, g.name
                """, arguments: [cluster, cluster])
            return try rows.map(Self.groupRecord)
        }
    }

    public func markGroupDeleted(cluster: String, name: String, at: Date) async throws -> GroupRecord {
        let (group, event) = try await pool.write { db -> (GroupRecord, NodeEvent) in
            guard var group = try Self.fetchGroup(db, cluster: cluster, name: name) else {
                throw StoreError(.notFound, "group \(cluster)/\(name) does not exist")
            }
            try db.execute(sql: "UPDATE groups SET deleted = 1, updated_at = ? WHERE cluster = ? AND name = ?",
                           arguments: [at.timeIntervalSince1970, cluster, name])
            group.deleted = true
            let event = try Self.insertEvent(db, NodeEvent(at: at, cluster: cluster, group: name, nodeID: nil, kind: .groupDeleted,
                                                           reason: "deleted by user: every node will be terminated"))
            return (group, event)
        }
        events.publish([event])
        return group
    }

    public func purgeGroup(cluster: String, name: String) async throws {
        try await pool.write { db in
            let live = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM nodes WHERE cluster = ? AND group_name = ? AND state NOT IN ('terminated', 'failed')
                """, arguments: [cluster, name]) ?? 0
            guard live == 0 else { throw StoreError(.conflict, "group \(cluster)/\(name) still has \(live) nodes") }
            try db.execute(sql: "DELETE FROM groups WHERE cluster = ? AND name = ? AND deleted = 1", arguments: [cluster, name])
        }
    }

    // MARK: Nodes

    public func recordNodeIntent(_ node: NodeRecord, tokenHash: String, tokenExpiry: Date, at: Date) async throws {
        let event = try await pool.write { db -> NodeEvent in
            try Self.insertNode(db, node)
            try db.execute(sql: "INSERT INTO enrolment_tokens(hash, node_id, expires_at) VALUES (?, ?, ?)",
                           arguments: [tokenHash, node.id, tokenExpiry.timeIntervalSince1970])
            return try Self.insertEvent(db, NodeEvent(at: at, cluster: node.cluster, group: node.group, nodeID: node.id,
                                                      kind: .nodeRequested, reason: node.stateReason))
        }
        events.publish([event])
    }

    public func addToken(nodeID: String, tokenHash: String, tokenExpiry: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO enrolment_tokens(hash, node_id, expires_at) VALUES (?, ?, ?)",
                           arguments: [tokenHash, nodeID, tokenExpiry.timeIntervalSince1970])
        }
    }

    @discardableResult
    public func transition(nodeID: String, to state: NodeState, reason: String, at: Date) async throws -> NodeRecord {
        let (node, event) = try await pool.write { db -> (NodeRecord, NodeEvent) in
            try Self.transition(db, nodeID: nodeID, to: state, reason: reason, at: at)
        }
        events.publish([event])
        return node
    }

    public func setInstance(nodeID: String, instanceID: String, address: String?, at: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE nodes SET instance_id = ?, address = ? WHERE id = ?", arguments: [instanceID, address, nodeID])
            guard db.changesCount == 1 else { throw StoreError(.notFound, "node \(nodeID) does not exist") }
        }
    }

    public func recordHeartbeats(_ beats: [String: Date]) async throws {
        guard !beats.isEmpty else { return }
        try await pool.write { db in
            let statement = try db.makeStatement(sql: "UPDATE nodes SET last_heartbeat = max(coalesce(last_heartbeat, 0), ?) WHERE id = ?")
            for (id, at) in beats {
                try statement.execute(arguments: [at.timeIntervalSince1970, id])
            }
        }
    }

    public func node(id: String) async throws -> NodeRecord? {
        try await pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM nodes WHERE id = ?", arguments: [id]).map(Self.nodeRecord) }
    }

    public func nodes(cluster: String, group: String?) async throws -> [NodeRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM nodes WHERE cluster = ? AND (? IS NULL OR group_name = ?) ORDER BY created_at, id
                """, arguments: [cluster, group, group]).map(Self.nodeRecord)
        }
    }

    public func allLiveNodes() async throws -> [NodeRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM nodes WHERE state NOT IN ('terminated', 'failed') ORDER BY created_at, id")
                .map(Self.nodeRecord)
        }
    }

    // MARK: Events

    public func appendEvent(_ event: NodeEvent) async throws {
        let stored = try await pool.write { db in try Self.insertEvent(db, event) }
        events.publish([stored])
    }

    public func listEvents(cluster: String?, group: String?, after: Int64, limit: Int) async throws -> [NodeEvent] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM node_events WHERE seq > ? AND (? IS NULL OR cluster = ?) AND (? IS NULL OR group_name = ?)
                ORDER BY seq LIMIT ?
                """, arguments: [after, cluster, cluster, group, group, limit]).map(Self.eventRecord)
        }
    }

    // MARK: Enrolment

    public func checkToken(hash: String, now: Date) async throws -> String {
        try await pool.read { db in try Self.checkToken(db, hash: hash, now: now) }
    }

    public func reissueEnrolment(tokenHash: String, keyDigest: String, certificate: CertificateRecord, grace: Double, at: Date) async throws {
        let event = try await pool.write { db -> NodeEvent in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM enrolment_tokens WHERE hash = ?", arguments: [tokenHash]) else {
                throw StoreError(.invalidToken, "no such enrolment token")
            }
            let boundNode: String = row["node_id"]
            let node = try Row.fetchOne(db, sql: "SELECT * FROM nodes WHERE id = ?", arguments: [boundNode]).map(Self.nodeRecord)
            let event = try EnrolmentRules.retry(boundNode: boundNode, usedAt: row["used_at"], keyDigest: row["key_sha256"], presented: keyDigest,
                                                 node: node, certificate: certificate, grace: grace, at: at)
            try Self.insertCertificate(db, certificate)
            return try Self.insertEvent(db, event)
        }
        events.publish([event])
    }

    public func redeemToken(hash: String, certificate: CertificateRecord, keyDigest: String?, at: Date) async throws {
        let events = try await pool.write { db -> [NodeEvent] in
            let nodeID = try Self.checkToken(db, hash: hash, now: at)
            guard nodeID == certificate.nodeID else {
                throw StoreError(.invalidToken, "token is bound to another node")
            }
            try db.execute(sql: "UPDATE enrolment_tokens SET used_at = ?, key_sha256 = ? WHERE hash = ?", arguments: [at.timeIntervalSince1970, keyDigest, hash])
            // One enrolment per node: the tokens of retried creates die with the first that is used.
            try db.execute(sql: "DELETE FROM enrolment_tokens WHERE node_id = ? AND used_at IS NULL", arguments: [nodeID])
            try Self.insertCertificate(db, certificate)
            var events: [NodeEvent] = []
            guard let node = try Row.fetchOne(db, sql: "SELECT * FROM nodes WHERE id = ?", arguments: [nodeID]).map(Self.nodeRecord) else {
                throw StoreError(.notFound, "node \(nodeID) does not exist")
            }
            if node.state == .requested {
                events.append(try Self.transition(db, nodeID: nodeID, to: .provisioning, reason: "agent enrolled before create returned", at: at).1)
            }
            if node.state == .requested || node.state == .provisioning {
                events.append(try Self.transition(db, nodeID: nodeID, to: .enrolling, reason: "agent enrolled with its token; certificate \(certificate.serial) issued", at: at).1)
            } else {
                events.append(try Self.insertEvent(db, NodeEvent(at: at, cluster: node.cluster, group: node.group, nodeID: nodeID, kind: .nodeEnrolled,
                                                                 reason: "certificate \(certificate.serial) issued")))
            }
            return events
        }
        self.events.publish(events)
    }

    public func recordCertificate(_ certificate: CertificateRecord) async throws {
        try await pool.write { db in try Self.insertCertificate(db, certificate) }
    }

    public func renewCertificate(replacing serial: String, with certificate: CertificateRecord, at: Date) async throws {
        let event = try await pool.write { db -> NodeEvent in
            let node = try Row.fetchOne(db, sql: "SELECT * FROM nodes WHERE id = ?", arguments: [certificate.nodeID]).map(Self.nodeRecord)
            let renewal = try CertificateRules.renewal(replacing: try Self.fetchCertificate(db, serial), serial: serial, node: node,
                                                       new: certificate, at: at)
            try db.execute(sql: "UPDATE certificates SET revoked = 1 WHERE serial = ?", arguments: [renewal.revoke])
            try Self.insertCertificate(db, renewal.record)
            return try Self.insertEvent(db, renewal.event)
        }
        events.publish([event])
    }

    public func certificate(serial: String) async throws -> CertificateRecord? {
        try await pool.read { db in try Self.fetchCertificate(db, serial) }
    }

    static func fetchCertificate(_ db: Database, _ serial: String) throws -> CertificateRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM certificates WHERE serial = ?", arguments: [serial]).map { row in
            CertificateRecord(serial: row["serial"], nodeID: row["node_id"],
                              notBefore: Date(timeIntervalSince1970: row["not_before"]),
                              notAfter: Date(timeIntervalSince1970: row["not_after"]), revoked: row["revoked"])
        }
    }
}
