import KadendeModel
import KadendeStore
import NIOCore
import struct Foundation.Date

extension PostgresStore {
    public func createCluster(name: String, at: Date) async throws -> ClusterRecord {
        let event = try await write { db -> NodeEvent in
            guard try await db.one("SELECT 1 FROM clusters WHERE name = $1", [name]) == nil else {
                throw StoreError(.conflict, "cluster \(name) exists already")
            }
            try await db.query("INSERT INTO clusters(name, created_at) VALUES ($1, $2)", [name, at.timeIntervalSince1970])
            return try await Self.insertEvent(db, NodeEvent(at: at, cluster: name, group: "", nodeID: nil, kind: .clusterCreated, reason: "cluster created"))
        }
        committed([event])
        return ClusterRecord(name: name, createdAt: at, nodeQuota: nil, members: [:])
    }

    public func cluster(name: String) async throws -> ClusterRecord? {
        try await read { db in try await Self.fetchClusters(db, name: name).first }
    }

    public func clusters() async throws -> [ClusterRecord] {
        try await read { db in try await Self.fetchClusters(db, name: nil) }
    }

    public func deleteCluster(name: String, at: Date) async throws {
        let event = try await write { db -> NodeEvent in
            try await Self.requireCluster(db, name)
            let groups = try await db.query("SELECT name FROM groups WHERE cluster = $1 ORDER BY name", [name]).map { try $0.get("name", as: String.self) }
            guard groups.isEmpty else {
                throw StoreError(.conflict, "cluster \(name) still has groups (\(groups.prefix(5).joined(separator: ", "))): delete them and wait for their nodes to go")
            }
            let live = try await db.scalar("SELECT count(*) FROM nodes WHERE cluster = $1 AND state NOT IN ('terminated', 'failed')", [name], as: Int.self) ?? 0
            guard live == 0 else { throw StoreError(.conflict, "cluster \(name) still has \(live) live nodes") }
            try await db.query("DELETE FROM memberships WHERE cluster = $1", [name])
            try await db.query("DELETE FROM cluster_secrets WHERE cluster = $1", [name])
            try await db.query("DELETE FROM clusters WHERE name = $1", [name])
            return try await Self.insertEvent(db, NodeEvent(at: at, cluster: name, group: "", nodeID: nil, kind: .clusterDeleted, reason: "cluster deleted"))
        }
        committed([event])
    }

    static func fetchClusters(_ db: PGSession, name: String?) async throws -> [ClusterRecord] {
        var members: [String: [String: String]] = [:]
        for row in try await db.query("SELECT user_name, cluster, role FROM memberships WHERE $1::text IS NULL OR cluster = $1", [name]) {
            members[try row.get("cluster"), default: [:]][try row.get("user_name")] = try row.get("role")
        }
        return try await db.query("SELECT name, created_at, node_quota FROM clusters WHERE $1::text IS NULL OR name = $1 ORDER BY name", [name]).map { row in
            let cluster: String = try row.get("name")
            return ClusterRecord(name: cluster, createdAt: date(try row.get("created_at")), nodeQuota: try row.get("node_quota"),
                                 members: members[cluster] ?? [:])
        }
    }

    // MARK: Secrets and quota

    public func setSecret(cluster: String, name: String, sealed: [UInt8], summary: String, at: Date) async throws {
        let event = try await write { db -> NodeEvent in
            try await Self.requireCluster(db, cluster)
            try await db.query("""
                INSERT INTO cluster_secrets(cluster, name, sealed, summary, updated_at) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT(cluster, name) DO UPDATE SET sealed = excluded.sealed, summary = excluded.summary, updated_at = excluded.updated_at
                """, [cluster, name, PGBytes(bytes: sealed), summary, at.timeIntervalSince1970])
            return try await Self.insertEvent(db, NodeEvent(at: at, cluster: cluster, group: "", nodeID: nil, kind: .credentialsSet,
                                                            reason: "\(name) set (\(summary))"))
        }
        committed([event])
    }

    public func sealedSecret(cluster: String, name: String) async throws -> [UInt8]? {
        try await read { db in
            try await db.one("SELECT sealed FROM cluster_secrets WHERE cluster = $1 AND name = $2", [cluster, name]).map { row in
                var buffer = try row.get("sealed", as: ByteBuffer.self)
                return buffer.readBytes(length: buffer.readableBytes) ?? []
            }
        }
    }

    public func secrets(cluster: String) async throws -> [SecretSummary] {
        try await read { db in
            try await db.query("SELECT cluster, name, summary, updated_at FROM cluster_secrets WHERE cluster = $1 ORDER BY name", [cluster]).map {
                SecretSummary(cluster: try $0.get("cluster"), name: try $0.get("name"), summary: try $0.get("summary"),
                              updatedAt: Self.date(try $0.get("updated_at")))
            }
        }
    }

    public func deleteSecret(cluster: String, name: String, at: Date) async throws {
        let event = try await write { db -> NodeEvent in
            let deleted = try await db.query("DELETE FROM cluster_secrets WHERE cluster = $1 AND name = $2 RETURNING name", [cluster, name])
            guard !deleted.isEmpty else { throw StoreError(.notFound, "cluster \(cluster) has no secret \(name)") }
            return try await Self.insertEvent(db, NodeEvent(at: at, cluster: cluster, group: "", nodeID: nil, kind: .credentialsDeleted, reason: "\(name) deleted"))
        }
        committed([event])
    }

    public func setNodeQuota(cluster: String, quota: Int?, at: Date) async throws {
        let event = try await write { db -> NodeEvent in
            try await Self.requireCluster(db, cluster)
            try await db.query("UPDATE clusters SET node_quota = $1 WHERE name = $2", [quota, cluster])
            return try await Self.insertEvent(db, NodeEvent(at: at, cluster: cluster, group: "", nodeID: nil, kind: .quotaSet,
                                                            reason: quota.map { "node quota set to \($0)" } ?? "node quota removed"))
        }
        committed([event])
    }

    public func nodeQuota(cluster: String) async throws -> Int? {
        try await read { db in try await db.scalar("SELECT node_quota FROM clusters WHERE name = $1", [cluster], as: Int.self) }
    }

    public func liveNodeCount(cluster: String) async throws -> Int {
        try await read { db in
            try await db.scalar("SELECT count(*) FROM nodes WHERE cluster = $1 AND state NOT IN ('terminated', 'failed')", [cluster], as: Int.self) ?? 0
        }
    }
}
