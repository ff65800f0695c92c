import KadendeModel
import KadendeStore
import KadendeWire
import struct Foundation.Date

extension PostgresStore {
    public func setLabels(nodeID: String, labels: [String: String], at: Date) async throws -> NodeRecord {
        let json = try Self.json(labels)
        let (node, event) = try await write { db -> (NodeRecord, NodeEvent) in
            guard var node = try await Self.fetchNode(db, nodeID, forUpdate: true) else { throw StoreError(.notFound, "node \(nodeID) does not exist") }
            try await db.query("UPDATE nodes SET labels = $1 WHERE id = $2", [json, nodeID])
            node.labels = labels
            let shown = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            let event = try await Self.insertEvent(db, NodeEvent(at: at, cluster: node.cluster, group: node.group, nodeID: nodeID,
                                                                 kind: .nodeLabelled, reason: "labels now {\(shown)}"))
            return (node, event)
        }
        committed([event])
        return node
    }

    public func pushConfig(_ push: ConfigPush, cluster: String, group: String, at: Date) async throws -> (ConfigRevisionRecord, RolloutRecord) {
        let (revision, rollout, event) = try await write { db -> (ConfigRevisionRecord, RolloutRecord, NodeEvent) in
            guard let g = try await Self.fetchGroup(db, cluster: cluster, name: group), !g.deleted else {
                throw StoreError(.notFound, "group \(cluster)/\(group) does not exist")
            }
            try await Self.refuseIfActive(db, cluster: cluster, group: group)
            let number = (try await db.scalar("SELECT max(revision) FROM config_revisions WHERE cluster = $1 AND group_name = $2",
                                              [cluster, group], as: Int.self) ?? 0) + 1
            let config = push.stored(as: number)
            try await db.query("""
                INSERT INTO config_revisions(cluster, group_name, revision, content, digest, message, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                """, [cluster, group, number, try Self.json(config), config.digest, push.message, at.timeIntervalSince1970])
            let record = ConfigRevisionRecord(cluster: cluster, group: group, config: config, message: push.message, createdAt: at)
            let reason = push.pushedReason(number)
            let rollout = try await Self.insertRollout(db, cluster: cluster, group: group, revision: number, previous: g.configRevision,
                                                       kind: .push, target: push.target, policy: push.rollout, reason: reason, at: at)
            let event = try await Self.insertEvent(db, NodeEvent(at: at, cluster: cluster, group: group, nodeID: nil, kind: .configPushed,
                                                                 reason: "rollout \(rollout.id): \(reason)"))
            return (record, rollout, event)
        }
        committed([event])
        return (revision, rollout)
    }

    public func startRollout(cluster: String, group: String, revision: Int, kind: RolloutRecord.Kind, target: ConfigTarget,
                             policy: RolloutPolicy, reason: String, at: Date) async throws -> RolloutRecord {
        let (rollout, event) = try await write { db -> (RolloutRecord, NodeEvent) in
            guard let g = try await Self.fetchGroup(db, cluster: cluster, name: group), !g.deleted else {
                throw StoreError(.notFound, "group \(cluster)/\(group) does not exist")
            }
            guard try await db.one("SELECT 1 FROM config_revisions WHERE cluster = $1 AND group_name = $2 AND revision = $3",
                                   [cluster, group, revision]) != nil else {
                throw StoreError(.notFound, "group \(cluster)/\(group) has no configuration revision \(revision)")
            }
            try await Self.refuseIfActive(db, cluster: cluster, group: group)
            let rollout = try await Self.insertRollout(db, cluster: cluster, group: group, revision: revision, previous: g.configRevision,
                                                       kind: kind, target: target, policy: policy, reason: reason, at: at)
            let event = try await Self.insertEvent(db, NodeEvent(at: at, cluster: cluster, group: group, nodeID: nil, kind: .configPushed,
                                                                 reason: "rollout \(rollout.id): \(reason)"))
            return (rollout, event)
        }
        committed([event])
        return rollout
    }

    public func configRevision(cluster: String, group: String, revision: Int) async throws -> ConfigRevisionRecord? {
        try await read { db in
            try await db.one("SELECT * FROM config_revisions WHERE cluster = $1 AND group_name = $2 AND revision = $3",
                             [cluster, group, revision]).map(Self.revisionRecord)
        }
    }

    public func configRevisions(cluster: String, group: String) async throws -> [ConfigRevisionRecord] {
        try await read { db in
            try await db.query("SELECT * FROM config_revisions WHERE cluster = $1 AND group_name = $2 ORDER BY revision",
                               [cluster, group]).map(Self.revisionRecord)
        }
    }

    public func rollouts(cluster: String, group: String, limit: Int) async throws -> [RolloutRecord] {
        try await read { db in
            try await db.query("SELECT * FROM rollouts WHERE cluster = $1 AND group_name = $2 ORDER BY id DESC LIMIT $3",
                               [cluster, group, limit]).map(Self.rolloutRecord)
        }
    }

    public func activeRollouts() async throws -> [RolloutRecord] {
        try await read { db in
            try await db.query("SELECT * FROM rollouts WHERE state IN ('running', 'paused', 'rolling-back') ORDER BY id").map(Self.rolloutRecord)
        }
    }

    public func updateRollout(id: Int64, state: RolloutState, reason: String, at: Date, events: [NodeEvent]) async throws {
        let stored = try await write { db -> [NodeEvent] in
            let updated = try await db.query("UPDATE rollouts SET state = $1, reason = $2, updated_at = $3 WHERE id = $4 RETURNING id",
                                             [state.rawValue, reason, at.timeIntervalSince1970, id])
            guard updated.count == 1 else { throw StoreError(.notFound, "rollout \(id) does not exist") }
            var stored: [NodeEvent] = []
            for event in events { stored.append(try await Self.insertEvent(db, event)) }
            return stored
        }
        committed(stored)
    }

    public func setGroupConfigRevision(cluster: String, group: String, revision: Int) async throws {
        try await write { db in
            try await db.query("UPDATE groups SET config_revision = $1 WHERE cluster = $2 AND name = $3", [revision, cluster, group])
        }
    }

    public func nodeConfigs(cluster: String, group: String) async throws -> [String: NodeConfigRecord] {
        try await read { db in
            let rows = try await db.query("""
                SELECT c.* FROM node_config c JOIN nodes n ON n.id = c.node_id WHERE n.cluster = $1 AND n.group_name = $2
                """, [cluster, group])
            return Dictionary(try rows.map(Self.nodeConfigRecord).map { ($0.nodeID, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    public func nodeConfig(nodeID: String) async throws -> NodeConfigRecord? {
        try await read { db in try await db.one("SELECT * FROM node_config WHERE node_id = $1", [nodeID]).map(Self.nodeConfigRecord) }
    }

    public func setDesired(nodeIDs: [String], revision: Int, rollout: Int64?, at: Date) async throws {
        guard !nodeIDs.isEmpty else { return }
        // Under the write lock, so positions are taken and committed in one order: a replica reading past position
        // n never misses a call that commits later with a smaller one.
        try await write { db in
            try await db.query("""
                INSERT INTO node_config(node_id, desired, rollout, pushed_at, desired_seq)
                SELECT id, $2, $3, $4, (SELECT coalesce(max(desired_seq), 0) + 1 FROM node_config) FROM unnest($1::text[]) AS ids(id)
                ON CONFLICT(node_id) DO UPDATE SET desired = excluded.desired, rollout = excluded.rollout, pushed_at = excluded.pushed_at,
                  desired_seq = excluded.desired_seq
                """, [PGArray(values: nodeIDs), revision, rollout, at.timeIntervalSince1970])
        }
    }

    public func desiredSince(_ position: Int64?, limit: Int) async throws -> DesiredChanges {
        try await read { db in
            let latest = try await db.scalar("SELECT coalesce(max(desired_seq), 0) FROM node_config", as: Int64.self) ?? 0
            guard let position else { return DesiredChanges(changes: [], position: latest) }
            // Whole calls only: a call's rows share their position, so a page never ends inside one.
            let rows = try await db.query("""
                SELECT c.node_id, n.cluster, n.group_name, c.desired, c.desired_seq FROM node_config c JOIN nodes n ON n.id = c.node_id
                WHERE c.desired_seq > $1 AND c.desired_seq <= coalesce((SELECT max(desired_seq) FROM (
                  SELECT DISTINCT desired_seq FROM node_config WHERE desired_seq > $1 ORDER BY desired_seq LIMIT $2) page), 0)
                ORDER BY c.desired_seq
                """, [position, limit])
            var changes: [DesiredChanges.Change] = []
            var last = position
            for row in rows {
                changes.append(DesiredChanges.Change(nodeID: try row.get("node_id"), cluster: try row.get("cluster"),
                                                     group: try row.get("group_name"), revision: try row.get("desired", as: Int.self)))
                last = try row.get("desired_seq", as: Int64.self)
            }
            return DesiredChanges(changes: changes, position: last)
        }
    }

    public func recordReports(_ reports: [String: (ack: Ack, at: Date)], events: [NodeEvent]) async throws {
        guard !reports.isEmpty || !events.isEmpty else { return }
        let encoded = try reports.map { ($0.key, try Self.json($0.value.ack), $0.value.at.timeIntervalSince1970, $0.value.ack.outcome == .failed) }
        let stored = try await write { db -> [NodeEvent] in
            for (id, json, at, failed) in encoded {
                try await db.query("""
                    INSERT INTO node_config(node_id, reported, reported_at, failure) SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM nodes WHERE id = $1)
                    ON CONFLICT(node_id) DO UPDATE SET reported = excluded.reported, reported_at = excluded.reported_at,
                      failure = coalesce(excluded.failure, node_config.failure)
                    """, [id, json, at, failed ? json : nil])
            }
            // Events about a node may come without its cluster and group: the node's row has them.
            var stored: [NodeEvent] = []
            for var event in events {
                if event.cluster.isEmpty, let id = event.nodeID {
                    guard let row = try await db.one("SELECT cluster, group_name FROM nodes WHERE id = $1", [id]) else { continue }
                    event.cluster = try row.get("cluster")
                    event.group = try row.get("group_name")
                }
                stored.append(try await Self.insertEvent(db, event))
            }
            return stored
        }
        committed(stored)
    }

    // MARK: Rows

    private static func refuseIfActive(_ db: PGSession, cluster: String, group: String) async throws {
        if let active = try await db.one("""
            SELECT id, state FROM rollouts WHERE cluster = $1 AND group_name = $2 AND state IN ('running', 'paused', 'rolling-back')
            """, [cluster, group]) {
            throw StoreError(.conflict, "rollout \(try active.get("id", as: Int64.self)) of group \(cluster)/\(group) is \(try active.get("state", as: String.self)); wait for it or abort it first")
        }
    }

    private static func insertRollout(_ db: PGSession, cluster: String, group: String, revision: Int, previous: Int?, kind: RolloutRecord.Kind,
                                      target: ConfigTarget, policy: RolloutPolicy, reason: String, at: Date) async throws -> RolloutRecord {
        let id = try await db.scalar("""
            INSERT INTO rollouts(cluster, group_name, revision, previous, kind, target, policy, state, reason, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $9, $9) RETURNING id
            """, [cluster, group, revision, previous, kind.rawValue, try json(target), try json(policy), reason, at.timeIntervalSince1970], as: Int64.self)
        return RolloutRecord(id: id ?? 0, cluster: cluster, group: group, revision: revision, previous: previous, kind: kind,
                             target: target, policy: policy, state: .running, reason: reason, createdAt: at, updatedAt: at)
    }

    static func revisionRecord(_ row: PGRow) throws -> ConfigRevisionRecord {
        ConfigRevisionRecord(cluster: try row.get("cluster"), group: try row.get("group_name"),
                             config: try decode(ConfigRevision.self, try row.get("content")), message: try row.get("message"),
                             createdAt: date(try row.get("created_at")))
    }

    static func rolloutRecord(_ row: PGRow) throws -> RolloutRecord {
        guard let state = RolloutState(rawValue: try row.get("state")), let kind = RolloutRecord.Kind(rawValue: try row.get("kind")) else {
            throw StoreError(.database, "rollout \(try row.get("id", as: Int64.self)) has an unknown state or kind")
        }
        return RolloutRecord(id: try row.get("id"), cluster: try row.get("cluster"), group: try row.get("group_name"), revision: try row.get("revision"),
                             previous: try row.get("previous"), kind: kind, target: try decode(ConfigTarget.self, try row.get("target")),
                             policy: try decode(RolloutPolicy.self, try row.get("policy")), state: state, reason: try row.get("reason"),
                             createdAt: date(try row.get("created_at")), updatedAt: date(try row.get("updated_at")))
    }

    static func nodeConfigRecord(_ row: PGRow) throws -> NodeConfigRecord {
        NodeConfigRecord(nodeID: try row.get("node_id"), desired: try row.get("desired"), rollout: try row.get("rollout"),
                         pushedAt: try row.get("pushed_at", as: Double?.self).map(date),
                         reported: try row.get("reported", as: String?.self).map { try decode(Ack.self, $0) },
                         reportedAt: try row.get("reported_at", as: Double?.self).map(date),
                         lastFailure: try row.get("failure", as: String?.self).map { try decode(Ack.self, $0) })
    }
}
