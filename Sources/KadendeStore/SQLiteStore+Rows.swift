import GRDB
import KadendeModel
import struct Foundation.Date
import struct Foundation.Data
import class Foundation.JSONDecoder
import class Foundation.JSONEncoder

/// Row mapping and the statements shared by several store operations; all run inside a caller's transaction.
extension SQLiteStore {
    static func encode(_ spec: GroupSpec) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(spec), as: UTF8.self)
    }

    static func fetchGroup(_ db: Database, cluster: String, name: String) throws -> GroupRecord? {
        try Row.fetchOne(db, sql: """
            SELECT g.*, r.spec FROM groups g JOIN group_revisions r
              ON r.cluster = g.cluster AND r.group_name = g.name AND r.revision = g.revision
            WHERE g.cluster = ? AND g.name = ?
            """, arguments: [cluster, name]).map(groupRecord)
    }

    static func groupRecord(_ row: Row) throws -> GroupRecord {
        let json: String = row["spec"]
        return GroupRecord(
            cluster: row["cluster"], name: row["name"], revision: row["revision"],
            spec: try JSONDecoder().decode(GroupSpec.self, from: Data(json.utf8)),
            deleted: row["deleted"],
            configRevision: row["config_revision"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            updatedAt: Date(timeIntervalSince1970: row["updated_at"])
        )
    }

    static func nodeRecord(_ row: Row) throws -> NodeRecord {
        let stateText: String = row["state"]
        guard let state = NodeState(rawValue: stateText) else {
            throw StoreError(.database, "node \(row["id"] as String) has unknown state \(stateText)")
        }
        let heartbeat: Double? = row["last_heartbeat"]
        let convicted: Double? = row["convicted_at"]
        return NodeRecord(
            id: row["id"], cluster: row["cluster"], group: row["group_name"], revision: row["revision"],
            state: state, stateReason: row["state_reason"], stateSince: Date(timeIntervalSince1970: row["state_since"]),
            instanceID: row["instance_id"], address: row["address"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            lastHeartbeat: heartbeat.map(Date.init(timeIntervalSince1970:)),
            convictedAt: convicted.map(Date.init(timeIntervalSince1970:)),
            labels: (try? JSONDecoder().decode([String: String].self, from: Data((row["labels"] as String? ?? "{}").utf8))) ?? [:]
        )
    }

    static func eventRecord(_ row: Row) throws -> NodeEvent {
        let kindText: String = row["kind"]
        guard let kind = NodeEvent.Kind(rawValue: kindText) else {
            throw StoreError(.database, "event \(row["seq"] as Int64) has unknown kind \(kindText)")
        }
        return NodeEvent(seq: row["seq"], at: Date(timeIntervalSince1970: row["at"]), cluster: row["cluster"],
                         group: row["group_name"], nodeID: row["node_id"], kind: kind, reason: row["reason"])
    }

    static func insertNode(_ db: Database, _ node: NodeRecord) throws {
        try db.execute(sql: """
            INSERT INTO nodes(id, cluster, group_name, revision, state, state_reason, state_since, instance_id, address, created_at, last_heartbeat)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [node.id, node.cluster, node.group, node.revision, node.state.rawValue, node.stateReason,
                             node.stateSince.timeIntervalSince1970, node.instanceID, node.address,
                             node.createdAt.timeIntervalSince1970, node.lastHeartbeat?.timeIntervalSince1970])
    }

    @discardableResult
    static func insertEvent(_ db: Database, _ event: NodeEvent) throws -> NodeEvent {
        try db.execute(sql: "INSERT INTO node_events(at, cluster, group_name, node_id, kind, reason) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [event.at.timeIntervalSince1970, event.cluster, event.group, event.nodeID, event.kind.rawValue, event.reason])
        var stored = event
        stored.seq = db.lastInsertedRowID
        return stored
    }

    static func insertCertificate(_ db: Database, _ c: CertificateRecord) throws {
        try db.execute(sql: "INSERT INTO certificates(serial, node_id, not_before, not_after, revoked) VALUES (?, ?, ?, ?, ?)",
                       arguments: [c.serial, c.nodeID, c.notBefore.timeIntervalSince1970, c.notAfter.timeIntervalSince1970, c.revoked])
    }

    /// Moves a node to `state` if its lifecycle allows it, recording the reason as an event. A node that reaches
    /// a final state loses its certificates and unused tokens, so nothing can speak for it again.
    static func transition(_ db: Database, nodeID: String, to state: NodeState, reason: String, at: Date) throws -> (NodeRecord, NodeEvent) {
        guard var node = try Row.fetchOne(db, sql: "SELECT * FROM nodes WHERE id = ?", arguments: [nodeID]).map(nodeRecord) else {
            throw StoreError(.notFound, "node \(nodeID) does not exist")
        }
        guard node.state.canTransition(to: state) else {
            throw StoreError(.illegalTransition, "node \(nodeID) cannot go from \(node.state.rawValue) to \(state.rawValue)")
        }
        let from = node.state
        try db.execute(sql: "UPDATE nodes SET state = ?, state_reason = ?, state_since = ? WHERE id = ?",
                       arguments: [state.rawValue, reason, at.timeIntervalSince1970, nodeID])
        if state == .unhealthy {
            try db.execute(sql: "UPDATE nodes SET convicted_at = ? WHERE id = ?", arguments: [at.timeIntervalSince1970, nodeID])
            node.convictedAt = at
        }
        if state.isFinal || state == .terminating {
            try db.execute(sql: "UPDATE certificates SET revoked = 1 WHERE node_id = ?", arguments: [nodeID])
            try db.execute(sql: "DELETE FROM enrolment_tokens WHERE node_id = ? AND used_at IS NULL", arguments: [nodeID])
        }
        node.state = state
        node.stateReason = reason
        node.stateSince = at
        let event = try insertEvent(db, NodeEvent(at: at, cluster: node.cluster, group: node.group, nodeID: nodeID,
                                                  kind: .nodeTransition, reason: "\(from.rawValue) → \(state.rawValue): \(reason)"))
        return (node, event)
    }

    static func checkToken(_ db: Database, hash: String, now: Date) throws -> String {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM enrolment_tokens WHERE hash = ?", arguments: [hash]) else {
            throw StoreError(.invalidToken, "no such enrolment token")
        }
        let usedAt: Double? = row["used_at"]
        guard usedAt == nil else { throw StoreError(.tokenUsed, "enrolment token was already used") }
        let expiresAt: Double = row["expires_at"]
        guard now.timeIntervalSince1970 < expiresAt else {
            throw StoreError(.tokenExpired, "enrolment token expired at \(Date(timeIntervalSince1970: expiresAt))")
        }
        return row["node_id"]
    }
}
