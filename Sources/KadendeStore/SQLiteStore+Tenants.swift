import GRDB
import KadendeModel
import struct Foundation.Date

/// A cluster is a tenant: an admin creates it, gives people roles in it, and deletes it once it is empty.
public struct ClusterRecord: Sendable, Hashable {
    public var name: String
    public var createdAt: Date
    /// Nil: no quota.
    public var nodeQuota: Int?
    /// Member → role (viewer or operator). Admins are members of every cluster without a row here.
    public var members: [String: String]

    public init(name: String, createdAt: Date, nodeQuota: Int?, members: [String: String]) {
        self.name = name
        self.createdAt = createdAt
        self.nodeQuota = nodeQuota
        self.members = members
    }
}

extension SQLiteStore {
    public func createCluster(name: String, at: Date) async throws -> ClusterRecord {
        let event = try await pool.write { db -> NodeEvent in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM clusters WHERE name = ?", arguments: [name]) == nil else {
                throw StoreError(.conflict, "cluster \(name) exists already")
            }
            try db.execute(sql: "INSERT INTO clusters(name, created_at) VALUES (?, ?)", arguments: [name, at.timeIntervalSince1970])
            return try Self.insertEvent(db, NodeEvent(at: at, cluster: name, group: "", nodeID: nil, kind: .clusterCreated, reason: "cluster created"))
        }
        events.publish([event])
        return ClusterRecord(name: name, createdAt: at, nodeQuota: nil, members: [:])
    }

    public func cluster(name: String) async throws -> ClusterRecord? {
        try await pool.read { db in try Self.fetchClusters(db, name: name).first }
    }

    public func clusters() async throws -> [ClusterRecord] {
        try await pool.read { db in try Self.fetchClusters(db, name: nil) }
    }

    /// Deletes an empty cluster with its memberships and credentials. Refused while it has groups (deleted ones
    /// included until their last node is gone) or live nodes: nothing a cluster pays for is ever orphaned by this.
    public func deleteCluster(name: String, at: Date) async throws {
        let event = try await pool.write { db -> NodeEvent in
            try Self.requireCluster(db, name)
            let groups = try String.fetchAll(db, sql: "SELECT name FROM groups WHERE cluster = ? ORDER BY name", arguments: [name])
            guard groups.isEmpty else {
                throw StoreError(.conflict, "cluster \(name) still has groups (\(groups.prefix(5).joined(separator: ", "))): delete them and wait for their nodes to go")
            }
            let live = try Int.fetchOne(db, sql: "SELECT count(*) FROM nodes WHERE cluster = ? AND state NOT IN ('terminated', 'failed')", arguments: [name]) ?? 0
            guard live == 0 else { throw StoreError(.conflict, "cluster \(name) still has \(live) live nodes") }
            try db.execute(sql: "DELETE FROM memberships WHERE cluster = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM cluster_secrets WHERE cluster = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM clusters WHERE name = ?", arguments: [name])
            return try Self.insertEvent(db, NodeEvent(at: at, cluster: name, group: "", nodeID: nil, kind: .clusterDeleted, reason: "cluster deleted"))
        }
        events.publish([event])
    }

    static func requireCluster(_ db: Database, _ name: String) throws {
        guard try Row.fetchOne(db, sql: "SELECT 1 FROM clusters WHERE name = ?", arguments: [name]) != nil else {
            throw StoreError.noSuchCluster(name)
        }
    }

    static func fetchClusters(_ db: Database, name: String?) throws -> [ClusterRecord] {
        let rows = try Row.fetchAll(db, sql: "SELECT name, created_at, node_quota FROM clusters \(name == nil ? "" : "WHERE name = ?") ORDER BY name",
                                    arguments: StatementArguments(name.map { [$0] } ?? []))
        var members: [String: [String: String]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT user, cluster, role FROM memberships \(name == nil ? "" : "WHERE cluster = ?")",
                                    arguments: StatementArguments(name.map { [$0] } ?? [])) {
            members[row["cluster"], default: [:]][row["user"]] = row["role"]
        }
        return rows.map { row in
            ClusterRecord(name: row["name"], createdAt: Date(timeIntervalSince1970: row["created_at"]), nodeQuota: row["node_quota"],
                          members: members[row["name"]] ?? [:])
        }
    }
}
