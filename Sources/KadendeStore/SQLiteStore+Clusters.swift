import GRDB
import KadendeModel
import struct Foundation.Date
import struct Foundation.Data

/// A secret as the API may show it: never its value, only what names it.
public struct SecretSummary: Sendable, Hashable {
    public var cluster: String
    public var name: String
    /// What identifies the secret without revealing it (an access key id, masked).
    public var summary: String
    public var updatedAt: Date

    public init(cluster: String, name: String, summary: String, updatedAt: Date) {
        self.cluster = cluster
        self.name = name
        self.summary = summary
        self.updatedAt = updatedAt
    }
}

extension SQLiteStore {
    /// Stores a sealed secret and records who-did-what as an event (its summary, never its value).
    public func setSecret(cluster: String, name: String, sealed: [UInt8], summary: String, at: Date) async throws {
        let event = try await pool.write { db -> NodeEvent in
            try Self.requireCluster(db, cluster)
            try db.execute(sql: """
                INSERT INTO cluster_secrets(cluster, name, sealed, summary, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(cluster, name) DO UPDATE SET sealed = excluded.sealed, summary = excluded.summary, updated_at = excluded.updated_at
                """, arguments: [cluster, name, Data(sealed), summary, at.timeIntervalSince1970])
            return try Self.insertEvent(db, NodeEvent(at: at, cluster: cluster, group: "", nodeID: nil, kind: .credentialsSet,
                                                      reason: "\(name) set (\(summary))"))
        }
        events.publish([event])
    }

    public func sealedSecret(cluster: String, name: String) async throws -> [UInt8]? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT sealed FROM cluster_secrets WHERE cluster = ? AND name = ?", arguments: [cluster, name])
                .map { row in [UInt8](row["sealed"] as Data) }
        }
    }

    public func secrets(cluster: String) async throws -> [SecretSummary] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT cluster, name, summary, updated_at FROM cluster_secrets WHERE cluster = ? ORDER BY name", arguments: [cluster])
                .map { SecretSummary(cluster: $0["cluster"], name: $0["name"], summary: $0["summary"], updatedAt: Date(timeIntervalSince1970: $0["updated_at"])) }
        }
    }

    public func deleteSecret(cluster: String, name: String, at: Date) async throws {
        let event = try await pool.write { db -> NodeEvent in
            try db.execute(sql: "DELETE FROM cluster_secrets WHERE cluster = ? AND name = ?", arguments: [cluster, name])
            guard db.changesCount > 0 else { throw StoreError(.notFound, "cluster \(cluster) has no secret \(name)") }
            return try Self.insertEvent(db, NodeEvent(at: at, cluster: cluster, group: "", nodeID: nil, kind: .credentialsDeleted, reason: "\(name) deleted"))
        }
        events.publish([event])
    }

    /// Nil: no quota.
    public func setNodeQuota(cluster: String, quota: Int?, at: Date) async throws {
        let event = try await pool.write { db -> NodeEvent in
            try Self.requireCluster(db, cluster)
            try db.execute(sql: "UPDATE clusters SET node_quota = ? WHERE name = ?", arguments: [quota, cluster])
            return try Self.insertEvent(db, NodeEvent(at: at, cluster: cluster, group: "", nodeID: nil, kind: .quotaSet,
                                                      reason: quota.map { "node quota set to \($0)" } ?? "node quota removed"))
        }
        events.publish([event])
    }

    public func nodeQuota(cluster: String) async throws -> Int? {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT node_quota FROM clusters WHERE name = ?", arguments: [cluster])
        }
    }

    /// Nodes of the cluster that hold or may hold a machine (not terminated, not failed).
    public func liveNodeCount(cluster: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM nodes WHERE cluster = ? AND state NOT IN ('terminated', 'failed')", arguments: [cluster]) ?? 0
        }
    }
}
