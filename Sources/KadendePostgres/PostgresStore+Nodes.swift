import KadendeModel
import KadendeStore
import struct Foundation.Date

extension PostgresStore {
    // MARK: Groups

    public func applyGroup(_ spec: GroupSpec, at: Date) async throws -> ApplyResult {
        let json = try Self.json(spec)
        let (result, event) = try await write { db -> (ApplyResult, NodeEvent?) in
            try await Self.requireCluster(db, spec.cluster)
            let existing = try await Self.fetchGroup(db, cluster: spec.cluster, name: spec.name)
            if let existing, !existing.deleted, existing.spec == spec {
                return (ApplyResult(group: existing, changed: false), nil)
            }
            let revision = (existing?.revision ?? 0) + 1
            let t = at.timeIntervalSince1970
            try await db.query("INSERT INTO group_revisions(cluster, group_name, revision, spec, created_at) VALUES ($1, $2, $3, $4, $5)",
                               [spec.cluster, spec.name, revision, json, t])
            try await db.query("""
                INSERT INTO groups(cluster, name, revision, deleted, created_at, updated_at) VALUES ($1, $2, $3, FALSE, $4, $4)
                ON CONFLICT(cluster, name) DO UPDATE SET revision = excluded.revision, deleted = FALSE, updated_at = excluded.updated_at
                """, [spec.cluster, spec.name, revision, t])
            let event = try await Self.insertEvent(db, NodeEvent(
                at: at, cluster: spec.cluster, group: spec.name, nodeID: nil, kind: .groupApplied,
                reason: "revision \(revision): size \(spec.size.desired) (min \(spec.size.min), max \(spec.size.max)) on provider \(spec.provider)"))
            guard let group = try await Self.fetchGroup(db, cluster: spec.cluster, name: spec.name) else {
                throw StoreError(.database, "group \(spec.cluster)/\(spec.name) vanished while it was applied")
            }
            return (ApplyResult(group: group, changed: true), event)
        }
        committed(event.map { [$0] } ?? [])
        return result
    }

    public func group(cluster: String, name: String) async throws -> GroupRecord? {
        try await read { db in try await Self.fetchGroup(db, cluster: cluster, name: name) }
    }

    public func groups(cluster: String?) async throws -> [GroupRecord] {
        try await read { db in
            try await db.query("""
                SELECT \(Self.groupColumns) FROM groups g JOIN group_revisions r
                  ON r.cluster = g.cluster AND r.group_name = g.name AND r.revision = g.revision
                WHERE ($1::text IS NULL OR g.cluster = $1) ORDER BY g.cluster, g.name
                """, [cluster]).map(Self.groupRecord)
        }
    }

    public func markGroupDeleted(cluster: String, name: String, at: Date) async throws -> GroupRecord {
        let (group, event) = try await write { db -> (GroupRecord, NodeEvent) in
            guard var group = try await Self.fetchGroup(db, cluster: cluster, name: name) else {
                throw StoreError(.notFound, "group \(cluster)/\(name) does not exist")
            }
            try await db.query("UPDATE groups SET deleted = TRUE, updated_at = $1 WHERE cluster = $2 AND name = $3",
                               [at.timeIntervalSince1970, cluster, name])
            group.deleted = true
            let event = try await Self.insertEvent(db, NodeEvent(at: at, cluster: cluster, group: name, nodeID: nil, kind: .groupDeleted,
                                                                 reason: "deleted by user: every node will be terminated"))
            return (group, event)
        }
        committed([event])
        return group
    }

    public func purgeGroup(cluster: String, name: String) async throws {
        try await write { db in
            let live = try await db.scalar("""
                SELECT count(*) FROM nodes WHERE cluster = $1 AND group_name = $2 AND state NOT IN ('terminated', 'failed')
                """, [cluster, name], as: Int.self) ?? 0
            guard live == 0 else { throw StoreError(.conflict, "group \(cluster)/\(name) still has \(live) nodes") }
            try await db.query("DELETE FROM groups WHERE cluster = $1 AND name = $2 AND deleted", [cluster, name])
        }
    }

    // MARK: Nodes

    public func recordNodeIntent(_ node: NodeRecord, tokenHash: String, tokenExpiry: Date, at: Date) async throws {
        let event = try await write { db -> NodeEvent in
            try await Self.insertNode(db, node)
            try await db.query("INSERT INTO enrolment_tokens(hash, node_id, expires_at) VALUES ($1, $2, $3)",
                               [tokenHash, node.id, tokenExpiry.timeIntervalSince1970])
            return try await Self.insertEvent(db, NodeEvent(at: at, cluster: node.cluster, group: node.group, nodeID: node.id,
                                                            kind: .nodeRequested, reason: node.stateReason))
        }
        committed([event])
    }

    public func addToken(nodeID: String, tokenHash: String, tokenExpiry: Date) async throws {
        try await write { db in
            try await db.query("INSERT INTO enrolment_tokens(hash, node_id, expires_at) VALUES ($1, $2, $3)",
                               [tokenHash, nodeID, tokenExpiry.timeIntervalSince1970])
        }
    }

    @discardableResult
    public func transition(nodeID: String, to state: NodeState, reason: String, at: Date) async throws -> NodeRecord {
        let (node, event) = try await write { db in try await Self.transition(db, nodeID: nodeID, to: state, reason: reason, at: at) }
        committed([event])
        return node
    }

    public func setInstance(nodeID: String, instanceID: String, address: String?, at: Date) async throws {
        try await write { db in
            let updated = try await db.query("UPDATE nodes SET instance_id = $1, address = $2 WHERE id = $3 RETURNING id", [instanceID, address, nodeID])
            guard updated.count == 1 else { throw StoreError(.notFound, "node \(nodeID) does not exist") }
        }
    }

    /// One statement for the whole batch: heartbeats are the store's most frequent write.
    public func recordHeartbeats(_ beats: [String: Date]) async throws {
        guard !beats.isEmpty else { return }
        let pairs = Array(beats)
        let ids = pairs.map(\.key)
        let times = pairs.map { $0.value.timeIntervalSince1970 }
        // Outside the write lock: a heartbeat only moves a time forward, whoever writes first, and one replica's
        // bulk writes (a pass creating a thousand nodes) must not hold back the heartbeats another replica flushes
        // for the owner to read; the owner would see its agents fall silent.
        try await control { db in
            try await db.query("""
                UPDATE nodes SET last_heartbeat = greatest(coalesce(nodes.last_heartbeat, 0), b.at)
                FROM unnest($1::text[], $2::float8[]) AS b(id, at) WHERE nodes.id = b.id
                """, [PGArray(values: ids), PGArray(values: times)])
        }
    }

    public func node(id: String) async throws -> NodeRecord? {
        try await read { db in try await Self.fetchNode(db, id) }
    }

    public func nodes(cluster: String, group: String?) async throws -> [NodeRecord] {
        try await read { db in
            try await db.query("SELECT * FROM nodes WHERE cluster = $1 AND ($2::text IS NULL OR group_name = $2) ORDER BY created_at, id",
                               [cluster, group]).map(Self.nodeRecord)
        }
    }

    public func allLiveNodes() async throws -> [NodeRecord] {
        try await read { db in
            try await db.query("SELECT * FROM nodes WHERE state NOT IN ('terminated', 'failed') ORDER BY created_at, id").map(Self.nodeRecord)
        }
    }

    // MARK: Events

    public func appendEvent(_ event: NodeEvent) async throws {
        let stored = try await write { db in try await Self.insertEvent(db, event) }
        committed([stored])
    }

    public func listEvents(cluster: String?, group: String?, after: Int64, limit: Int) async throws -> [NodeEvent] {
        try await read { db in
            try await db.query("""
                SELECT * FROM node_events WHERE seq > $1 AND ($2::text IS NULL OR cluster = $2) AND ($3::text IS NULL OR group_name = $3)
                ORDER BY seq LIMIT $4
                """, [after, cluster, group, limit]).map(Self.eventRecord)
        }
    }

    // MARK: Enrolment

    public func checkToken(hash: String, now: Date) async throws -> String {
        try await read { db in try await Self.checkToken(db, hash: hash, now: now) }
    }

    public func reissueEnrolment(tokenHash: String, keyDigest: String, certificate: CertificateRecord, grace: Double, at: Date) async throws {
        let event = try await write { db -> NodeEvent in
            guard let row = try await db.one("SELECT * FROM enrolment_tokens WHERE hash = $1 FOR UPDATE", [tokenHash]) else {
                throw StoreError(.invalidToken, "no such enrolment token")
            }
            let boundNode: String = try row.get("node_id")
            let event = try EnrolmentRules.retry(
                boundNode: boundNode, usedAt: try row.get("used_at", as: Double?.self), keyDigest: try row.get("key_sha256", as: String?.self),
                presented: keyDigest, node: try await Self.fetchNode(db, boundNode, forUpdate: true), certificate: certificate, grace: grace, at: at)
            try await Self.insertCertificate(db, certificate)
            return try await Self.insertEvent(db, event)
        }
        committed([event])
    }

    public func redeemToken(hash: String, certificate: CertificateRecord, keyDigest: String?, at: Date) async throws {
        let events = try await write { db -> [NodeEvent] in
            let nodeID = try await Self.checkToken(db, hash: hash, now: at)
            guard nodeID == certificate.nodeID else { throw StoreError(.invalidToken, "token is bound to another node") }
            try await db.query("UPDATE enrolment_tokens SET used_at = $1, key_sha256 = $2 WHERE hash = $3", [at.timeIntervalSince1970, keyDigest, hash])
            // One enrolment per node: the tokens of retried creates die with the first that is used.
            try await db.query("DELETE FROM enrolment_tokens WHERE node_id = $1 AND used_at IS NULL", [nodeID])
            try await Self.insertCertificate(db, certificate)
            guard let node = try await Self.fetchNode(db, nodeID) else { throw StoreError(.notFound, "node \(nodeID) does not exist") }
            var events: [NodeEvent] = []
            if node.state == .requested {
                events.append(try await Self.transition(db, nodeID: nodeID, to: .provisioning, reason: "agent enrolled before create returned", at: at).1)
            }
            if node.state == .requested || node.state == .provisioning {
                events.append(try await Self.transition(db, nodeID: nodeID, to: .enrolling,
                                                        reason: "agent enrolled with its token; certificate \(certificate.serial) issued", at: at).1)
            } else {
                events.append(try await Self.insertEvent(db, NodeEvent(at: at, cluster: node.cluster, group: node.group, nodeID: nodeID,
                                                                       kind: .nodeEnrolled, reason: "certificate \(certificate.serial) issued")))
            }
            return events
        }
        committed(events)
    }

    public func recordCertificate(_ certificate: CertificateRecord) async throws {
        try await write { db in try await Self.insertCertificate(db, certificate) }
    }

    public func renewCertificate(replacing serial: String, with certificate: CertificateRecord, at: Date) async throws {
        let event = try await write { db -> NodeEvent in
            let node = try await Self.fetchNode(db, certificate.nodeID, forUpdate: true)
            let renewal = try CertificateRules.renewal(replacing: try await Self.fetchCertificate(db, serial), serial: serial, node: node,
                                                       new: certificate, at: at)
            try await db.query("UPDATE certificates SET revoked = true WHERE serial = $1", [renewal.revoke])
            try await Self.insertCertificate(db, renewal.record)
            return try await Self.insertEvent(db, renewal.event)
        }
        committed([event])
    }

    public func certificate(serial: String) async throws -> CertificateRecord? {
        try await read { db in try await Self.fetchCertificate(db, serial) }
    }

    static func fetchCertificate(_ db: PGSession, _ serial: String) async throws -> CertificateRecord? {
        try await db.one("SELECT * FROM certificates WHERE serial = $1", [serial]).map { row in
            CertificateRecord(serial: try row.get("serial"), nodeID: try row.get("node_id"), notBefore: Self.date(try row.get("not_before")),
                              notAfter: Self.date(try row.get("not_after")), revoked: try row.get("revoked"))
        }
    }
}
