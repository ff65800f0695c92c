import GRDB
import KadendeModel
import KadendeWire
import struct Foundation.Date
import struct Foundation.Data
import class Foundation.JSONDecoder
import class Foundation.JSONEncoder

extension SQLiteStore {
    public func setLabels(nodeID: String, labels: [String: String], at: Date) async throws -> NodeRecord {
        let json = try Self.json(labels)
        let (node, event) = try await pool.write { db -> (NodeRecord, NodeEvent) in
            guard var node = try Row.fetchOne(db, sql: "SELECT * FROM nodes WHERE id = ?", arguments: [nodeID]).map(Self.nodeRecord) else {
                throw StoreError(.notFound, "node \(nodeID) does not exist")
            }
            try db.execute(sql: "UPDATE nodes SET labels = ? WHERE id = ?", arguments: [json, nodeID])
            node.labels = labels
            let shown = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            let event = try Self.insertEvent(db, NodeEvent(at: at, cluster: node.cluster, group: node.group, nodeID: nodeID,
                                                           kind: .nodeLabelled, reason: "labels now {\(shown)}"))
            return (node, event)
        }
        events.publish([event])
        return node
    }

    public func pushConfig(_ push: ConfigPush, cluster: String, group: String, at: Date) async throws -> (ConfigRevisionRecord, RolloutRecord) {
        let (revision, rollout, event) = try await pool.write { db -> (ConfigRevisionRecord, RolloutRecord, NodeEvent) in
            guard let g = try Self.fetchGroup(db, cluster: cluster, name: group), !g.deleted else {
                throw StoreError(.notFound, "group \(cluster)/\(group) does not exist")
            }
            try Self.refuseIfActive(db, cluster: cluster, group: group)
            let number = (try Int.fetchOne(db, sql: "SELECT max(revision) FROM config_revisions WHERE cluster = ? AND group_name = ?",
                                           arguments: [cluster, group]) ?? 0) + 1
            let config = push.stored(as: number)
            try db.execute(sql: """
                INSERT INTO config_revisions(cluster, group_name, revision, content, digest, message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [cluster, group, number, try Self.json(config), config.digest, push.message, at.timeIntervalSince1970])
            let record = ConfigRevisionRecord(cluster: cluster, group: group, config: config, message: push.message, createdAt: at)
            let reason = push.pushedReason(number)
            let rollout = try Self.insertRollout(db, cluster: cluster, group: group, revision: number, previous: g.configRevision,
                                                 kind: .push, target: push.target, policy: push.rollout, reason: reason, at: at)
            let event = try Self.insertEvent(db, NodeEvent(at: at, cluster: cluster, group: group, nodeID: nil, kind: .configPushed,
                                                           reason: "rollout \(rollout.id): \(reason)"))
            return (record, rollout, event)
        }
        events.publish([event])
        return (revision, rollout)
    }

    public func startRollout(cluster: String, group: String, revision: Int, kind: RolloutRecord.Kind, target: ConfigTarget,
                             policy: RolloutPolicy, reason: String, at: Date) async throws -> RolloutRecord {
        let (rollout, event) = try await pool.write { db -> (RolloutRecord, NodeEvent) in
            guard let g = try Self.fetchGroup(db, cluster: cluster, name: group), !g.deleted else {
                throw StoreError(.notFound, "group \(cluster)/\(group) does not exist")
            }
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM config_revisions WHERE cluster = ? AND group_name = ? AND revision = ?",
                                   arguments: [cluster, group, revision]) != nil else {
                throw StoreError(.notFound, "group \(cluster)/\(group) has no configuration revision \(revision)")
            }
            try Self.refuseIfActive(db, cluster: cluster, group: group)
            let rollout = try Self.insertRollout(db, cluster: cluster, group: group, revision: revision, previous: g.configRevision,
                                                 kind: kind, target: target, policy: policy, reason: reason, at: at)
            let event = try Self.insertEvent(db, NodeEvent(at: at, cluster: cluster, group: group, nodeID: nil, kind: .configPushed,
                                                           reason: "rollout \(rollout.id): \(reason)"))
            return (rollout, event)
        }
        events.publish([event])
        return rollout
    }

    public func configRevision(cluster: String, group: String, revision: Int) async throws -> ConfigRevisionRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM config_revisions WHERE cluster = ? AND group_name = ? AND revision = ?",
                             arguments: [cluster, group, revision]).map(Self.revisionRecord)
        }
    }

    public func configRevisions(cluster: String, group: String) async throws -> [ConfigRevisionRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM config_revisions WHERE cluster = ? AND group_name = ? ORDER BY revision",
                             arguments: [cluster, group]).map(Self.revisionRecord)
        }
    }

    public func rollouts(cluster: String, group: String, limit: Int) async throws -> [RolloutRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM rollouts WHERE cluster = ? AND group_name = ? ORDER BY id DESC LIMIT ?",
                             arguments: [cluster, group, limit]).map(Self.rolloutRecord)
        }
    }

    public func activeRollouts() async throws -> [RolloutRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM rollouts WHERE state IN ('running', 'paused', 'rolling-back') ORDER BY id")
                .map(Self.rolloutRecord)
        }
    }

    public func updateRollout(id: Int64, state: RolloutState, reason: String, at: Date, events: [NodeEvent]) async throws {
        let stored = try await pool.write { db -> [NodeEvent] in
            try db.execute(sql: "UPDATE rollouts SET state = ?, reason = ?, updated_at = ? WHERE id = ?",
                           arguments: [state.rawValue, reason, at.timeIntervalSince1970, id])
            guard db.changesCount == 1 else { throw StoreError(.notFound, "rollout \(id) does not exist") }
            return try events.map { try Self.insertEvent(db, $0) }
        }
        self.events.publish(stored)
    }

    public func setGroupConfigRevision(cluster: String, group: String, revision: Int) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE groups SET config_revision = ? WHERE cluster = ? AND name = ?", arguments: [revision, cluster, group])
        }
    }

    public func nodeConfigs(cluster: String, group: String) async throws -> [String: NodeConfigRecord] {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT c.* FROM node_config c JOIN nodes n ON n.id = c.node_id WHERE n.cluster = ? AND n.group_name = ?
                """, arguments: [cluster, group])
            return Dictionary(try rows.map(Self.nodeConfigRecord).map { ($0.nodeID, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    public func nodeConfig(nodeID: String) async throws -> NodeConfigRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM node_config WHERE node_id = ?", arguments: [nodeID]).map(Self.nodeConfigRecord)
        }
    }

    public func setDesired(nodeIDs: [String], revision: Int, rollout: Int64?, at: Date) async throws {
        try await pool.write { db in
            let seq = (try Int64.fetchOne(db, sql: "SELECT coalesce(max(desired_seq), 0) FROM node_config") ?? 0) + 1
            let statement = try db.makeStatement(sql: """
                INSERT INTO node_config(node_id, desired, rollout, pushed_at, desired_seq) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(node_id) DO UPDATE SET desired = excluded.desired, rollout = excluded.rollout, pushed_at = excluded.pushed_at,
                  desired_seq = excluded.desired_seq
                """)
            for id in nodeIDs { try statement.execute(arguments: [id, revision, rollout, at.timeIntervalSince1970, seq]) }
        }
    }

    public func desiredSince(_ position: Int64?, limit: Int) async throws -> DesiredChanges {
        try await pool.read { db in
            let latest = try Int64.fetchOne(db, sql: "SELECT coalesce(max(desired_seq), 0) FROM node_config") ?? 0
            guard let position else { return DesiredChanges(changes: [], position: latest) }
            // Whole calls only: a call's rows share their position, so a page never ends inside one.
            let rows = try Row.fetchAll(db, sql: """
                SELECT c.node_id, n.cluster, n.group_name, c.desired, c.desired_seq FROM node_config c JOIN nodes n ON n.id = c.node_id
                WHERE c.desired_seq > ? AND c.desired_seq <= coalesce((SELECT max(desired_seq) FROM (
                  SELECT DISTINCT desired_seq FROM node_config WHERE desired_seq > ? ORDER BY desired_seq LIMIT ?)), 0)
                ORDER BY c.desired_seq
                """, arguments: [position, position, limit])
            let changes = rows.map { DesiredChanges.Change(nodeID: $0["node_id"], cluster: $0["cluster"], group: $0["group_name"], revision: $0["desired"]) }
            return DesiredChanges(changes: changes, position: rows.last?["desired_seq"] ?? position)
        }
    }

    public func recordReports(_ reports: [String: (ack: Ack, at: Date)], events: [NodeEvent]) async throws {
        guard !reports.isEmpty || !events.isEmpty else { return }
        let encoded = try reports.map { ($0.key, try Self.json($0.value.ack), $0.value.at.timeIntervalSince1970, $0.value.ack.outcome == .failed) }
        let stored = try await pool.write { db -> [NodeEvent] in
            let statement = try db.makeStatement(sql: """
                INSERT INTO node_config(node_id, reported, reported_at, failure) SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM nodes WHERE id = ?)
                ON CONFLICT(node_id) DO UPDATE SET reported = excluded.reported, reported_at = excluded.reported_at,
                  failure = coalesce(excluded.failure, node_config.failure)
                """)
            for (id, json, at, failed) in encoded { try statement.execute(arguments: [id, json, at, failed ? json : nil, id]) }
            // Events about a node may come without its cluster and group: the node's row has them.
            return try events.compactMap { event -> NodeEvent? in
                var event = event
                if event.cluster.isEmpty, let id = event.nodeID {
                    guard let row = try Row.fetchOne(db, sql: "SELECT cluster, group_name FROM nodes WHERE id = ?", arguments: [id]) else { return nil }
                    event.cluster = row["cluster"]
                    event.group = row["group_name"]
                }
                return try Self.insertEvent(db, event)
            }
        }
        self.events.publish(stored)
    }

    // MARK: Rows

    private static func refuseIfActive(_ db: Database, cluster: String, group: String) throws {
        if let active = try Row.fetchOne(db, sql: """
            SELECT id, state FROM rollouts WHERE cluster = ? AND group_name = ? AND state IN ('running', 'paused', 'rolling-back')
            """, arguments: [cluster, group]) {
            throw StoreError(.conflict, "rollout \(active["id"] as Int64) of group \(cluster)/\(group) is \(active["state"] as String); wait for it or abort it first")
        }
    }

    private static func insertRollout(_ db: Database, cluster: String, group: String, revision: Int, previous: Int?, kind: RolloutRecord.Kind,
                                      target: ConfigTarget, policy: RolloutPolicy, reason: String, at: Date) throws -> RolloutRecord {
        try db.execute(sql: """
            INSERT INTO rollouts(cluster, group_name, revision, previous, kind, target, policy, state, reason, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)
            """, arguments: [cluster, group, revision, previous, kind.rawValue, try json(target), try json(policy), reason,
                             at.timeIntervalSince1970, at.timeIntervalSince1970])
        return RolloutRecord(id: db.lastInsertedRowID, cluster: cluster, group: group, revision: revision, previous: previous, kind: kind,
                             target: target, policy: policy, state: .running, reason: reason, createdAt: at, updatedAt: at)
    }

    static func json<T: Encodable>(_ value: T) throws -> String { try StoredJSON.encode(value) }
    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T { try StoredJSON.decode(type, text) }

    static func revisionRecord(_ row: Row) throws -> ConfigRevisionRecord {
        ConfigRevisionRecord(cluster: row["cluster"], group: row["group_name"], config: try decode(ConfigRevision.self, row["content"]),
                             message: row["message"], createdAt: Date(timeIntervalSince1970: row["created_at"]))
    }

    static func rolloutRecord(_ row: Row) throws -> RolloutRecord {
        guard let state = RolloutState(rawValue: row["state"]), let kind = RolloutRecord.Kind(rawValue: row["kind"]) else {
            throw StoreError(.database, "rollout \(row["id"] as Int64) has an unknown state or kind")
        }
        return RolloutRecord(id: row["id"], cluster: row["cluster"], group: row["group_name"], revision: row["revision"],
                             previous: row["previous"], kind: kind, target: try decode(ConfigTarget.self, row["target"]),
                             policy: try decode(RolloutPolicy.self, row["policy"]), state: state, reason: row["reason"],
                             createdAt: Date(timeIntervalSince1970: row["created_at"]), updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }

    static func nodeConfigRecord(_ row: Row) throws -> NodeConfigRecord {
        let pushed: Double? = row["pushed_at"]
        let reportedAt: Double? = row["reported_at"]
        let reported: String? = row["reported"]
        let failure: String? = row["failure"]
        return NodeConfigRecord(nodeID: row["node_id"], desired: row["desired"], rollout: row["rollout"],
                                pushedAt: pushed.map(Date.init(timeIntervalSince1970:)),
                                reported: try reported.map { try decode(Ack.self, $0) },
                                reportedAt: reportedAt.map(Date.init(timeIntervalSince1970:)),
                                lastFailure: try failure.map { try decode(Ack.self, $0) })
    }
}
