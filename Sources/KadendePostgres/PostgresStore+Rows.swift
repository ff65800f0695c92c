import KadendeModel
import KadendeStore
import KadendeWire
import struct Foundation.Date
import struct Foundation.Data
import class Foundation.JSONDecoder
import class Foundation.JSONEncoder

/// Row mapping and the statements several operations share; all run inside the caller's transaction.
extension PostgresStore {
    static func json<T: Encodable>(_ value: T) throws -> String { try StoredJSON.encode(value) }
    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T { try StoredJSON.decode(type, text) }

    static func date(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }

    static let groupColumns = "g.cluster, g.name, g.revision, g.deleted, g.config_revision, g.created_at, g.updated_at, r.spec"

    static func fetchGroup(_ db: PGSession, cluster: String, name: String) async throws -> GroupRecord? {
        try await db.one("""
            SELECT \(groupColumns) FROM groups g JOIN group_revisions r
              ON r.cluster = g.cluster AND r.group_name = g.name AND r.revision = g.revision
            WHERE g.cluster = $1 AND g.name = $2
            """, [cluster, name]).map(groupRecord)
    }

    static func groupRecord(_ row: PGRow) throws -> GroupRecord {
        GroupRecord(cluster: try row.get("cluster"), name: try row.get("name"), revision: try row.get("revision"),
                    spec: try decode(GroupSpec.self, try row.get("spec")), deleted: try row.get("deleted"),
                    configRevision: try row.get("config_revision"), createdAt: date(try row.get("created_at")),
                    updatedAt: date(try row.get("updated_at")))
    }

    static func fetchNode(_ db: PGSession, _ id: String, forUpdate: Bool = false) async throws -> NodeRecord? {
        try await db.one("SELECT * FROM nodes WHERE id = $1" + (forUpdate ? " FOR UPDATE" : ""), [id]).map(nodeRecord)
    }

    static func nodeRecord(_ row: PGRow) throws -> NodeRecord {
        let stateText: String = try row.get("state")
        guard let state = NodeState(rawValue: stateText) else {
            throw StoreError(.database, "node \(try row.get("id", as: String.self)) has unknown state \(stateText)")
        }
        let labels: String = try row.get("labels")
        return NodeRecord(
            id: try row.get("id"), cluster: try row.get("cluster"), group: try row.get("group_name"), revision: try row.get("revision"),
            state: state, stateReason: try row.get("state_reason"), stateSince: date(try row.get("state_since")),
            instanceID: try row.get("instance_id"), address: try row.get("address"), createdAt: date(try row.get("created_at")),
            lastHeartbeat: try row.get("last_heartbeat", as: Double?.self).map(date),
            convictedAt: try row.get("convicted_at", as: Double?.self).map(date),
            labels: (try? decode([String: String].self, labels)) ?? [:])
    }

    static func eventRecord(_ row: PGRow) throws -> NodeEvent {
        let kindText: String = try row.get("kind")
        guard let kind = NodeEvent.Kind(rawValue: kindText) else {
            throw StoreError(.database, "event \(try row.get("seq", as: Int64.self)) has unknown kind \(kindText)")
        }
        return NodeEvent(seq: try row.get("seq"), at: date(try row.get("at")), cluster: try row.get("cluster"),
                         group: try row.get("group_name"), nodeID: try row.get("node_id"), kind: kind, reason: try row.get("reason"))
    }

    static func insertNode(_ db: PGSession, _ node: NodeRecord) async throws {
        try await db.query("""
            INSERT INTO nodes(id, cluster, group_name, revision, state, state_reason, state_since, instance_id, address, created_at, last_heartbeat)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """, [node.id, node.cluster, node.group, node.revision, node.state.rawValue, node.stateReason, node.stateSince.timeIntervalSince1970,
                  node.instanceID, node.address, node.createdAt.timeIntervalSince1970, node.lastHeartbeat?.timeIntervalSince1970])
    }

    @discardableResult
    static func insertEvent(_ db: PGSession, _ event: NodeEvent) async throws -> NodeEvent {
        let seq = try await db.scalar("""
            INSERT INTO node_events(at, cluster, group_name, node_id, kind, reason) VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq
            """, [event.at.timeIntervalSince1970, event.cluster, event.group, event.nodeID, event.kind.rawValue, event.reason], as: Int64.self)
        var stored = event
        stored.seq = seq ?? 0
        return stored
    }

    static func insertCertificate(_ db: PGSession, _ c: CertificateRecord) async throws {
        try await db.query("INSERT INTO certificates(serial, node_id, not_before, not_after, revoked) VALUES ($1, $2, $3, $4, $5)",
                           [c.serial, c.nodeID, c.notBefore.timeIntervalSince1970, c.notAfter.timeIntervalSince1970, c.revoked])
    }

    /// Moves a node to `state` if its lifecycle allows it (see `SQLiteStore.transition`).
    static func transition(_ db: PGSession, nodeID: String, to state: NodeState, reason: String, at: Date) async throws -> (NodeRecord, NodeEvent) {
        guard var node = try await fetchNode(db, nodeID, forUpdate: true) else { throw StoreError(.notFound, "node \(nodeID) does not exist") }
        guard node.state.canTransition(to: state) else {
            throw StoreError(.illegalTransition, "node \(nodeID) cannot go from \(node.state.rawValue) to \(state.rawValue)")
        }
        let from = node.state
        try await db.query("UPDATE nodes SET state = $1, state_reason = $2, state_since = $3 WHERE id = $4",
                           [state.rawValue, reason, at.timeIntervalSince1970, nodeID])
        if state == .unhealthy {
            try await db.query("UPDATE nodes SET convicted_at = $1 WHERE id = $2", [at.timeIntervalSince1970, nodeID])
            node.convictedAt = at
        }
        if state.isFinal || state == .terminating {
            try await db.query("UPDATE certificates SET revoked = TRUE WHERE node_id = $1", [nodeID])
            try await db.query("DELETE FROM enrolment_tokens WHERE node_id = $1 AND used_at IS NULL", [nodeID])
        }
        node.state = state
        node.stateReason = reason
        node.stateSince = at
        let event = try await insertEvent(db, NodeEvent(at: at, cluster: node.cluster, group: node.group, nodeID: nodeID,
                                                        kind: .nodeTransition, reason: "\(from.rawValue) → \(state.rawValue): \(reason)"))
        return (node, event)
    }

    static func checkToken(_ db: PGSession, hash: String, now: Date) async throws -> String {
        guard let row = try await db.one("SELECT node_id, used_at, expires_at FROM enrolment_tokens WHERE hash = $1", [hash]) else {
            throw StoreError(.invalidToken, "no such enrolment token")
        }
        guard try row.get("used_at", as: Double?.self) == nil else { throw StoreError(.tokenUsed, "enrolment token was already used") }
        let expiresAt: Double = try row.get("expires_at")
        guard now.timeIntervalSince1970 < expiresAt else {
            throw StoreError(.tokenExpired, "enrolment token expired at \(date(expiresAt))")
        }
        return try row.get("node_id")
    }

    static func requireCluster(_ db: PGSession, _ name: String) async throws {
        guard try await db.one("SELECT 1 FROM clusters WHERE name = $1", [name]) != nil else {
            throw StoreError.noSuchCluster(name)
        }
    }
}
