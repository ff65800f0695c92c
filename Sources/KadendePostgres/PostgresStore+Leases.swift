import KadendeStore

/// Group leases among coordinator replicas. Expiry is by the database's clock (`now()`), never a replica's: a
/// replica whose clock drifts or that was paused cannot believe it still holds what it lost. Takeovers run under the
/// write lock, so they are serialised with the fenced writes that check the lease; renewals of unexpired leases need
/// no lock (a takeover needs an expired row, and row locks order the two).
extension PostgresStore {
    public func leaseGroups(owner: String, duration: Double) async throws -> [GroupLease] {
        // Renewing what one still holds needs no write lock: it cannot race a takeover, which needs an expired row
        // (row locks order the two), so a replica keeps its leases even while bulk writes queue for the lock.
        try await control { db in
            try await db.query("""
                INSERT INTO replicas(id, seen_at) VALUES ($1, now()) ON CONFLICT(id) DO UPDATE SET seen_at = now()
                """, [owner])
            try await db.query("UPDATE group_leases SET expires_at = now() + make_interval(secs => $2) WHERE owner = $1 AND expires_at > now()",
                               [owner, duration])
        }
        // Taking and giving back groups waits for no one either: when bulk writes hold the lock, it is for the next round.
        let claimed = try await writeIfFree { db in
            // Leases of groups that are gone go with them.
            try await db.query("""
                DELETE FROM group_leases l WHERE NOT EXISTS (SELECT 1 FROM groups g WHERE g.cluster = l.cluster AND g.name = l.group_name)
                """)
            let groups = try await db.scalar("SELECT count(*) FROM groups", as: Int.self) ?? 0
            let replicas = max(try await db.scalar("SELECT count(*) FROM replicas WHERE seen_at > now() - make_interval(secs => $1)",
                                                   [duration], as: Int.self) ?? 1, 1)
            let fair = (groups + replicas - 1) / replicas
            var mine = try await db.query("""
                SELECT cluster, group_name, term FROM group_leases WHERE owner = $1 AND expires_at > now() ORDER BY cluster, group_name
                """, [owner]).map { GroupLease(cluster: try $0.get("cluster"), group: try $0.get("group_name"), owner: owner, term: try $0.get("term"), acquired: false) }
            // More than a fair share (another replica joined): give the newest-numbered back for it to take.
            if mine.count > fair {
                for lease in mine.suffix(mine.count - fair) {
                    try await db.query("UPDATE group_leases SET expires_at = now() - interval '1 second' WHERE cluster = $1 AND group_name = $2 AND owner = $3",
                                       [lease.cluster, lease.group, owner])
                }
                mine.removeLast(mine.count - fair)
            }
            guard mine.count < fair else { return mine }
            // Free groups: never leased, or their owner's lease ran out.
            let free = try await db.query("""
                SELECT g.cluster, g.name FROM groups g LEFT JOIN group_leases l ON l.cluster = g.cluster AND l.group_name = g.name
                WHERE l.cluster IS NULL OR l.expires_at <= now() ORDER BY g.cluster, g.name LIMIT $1
                """, [fair - mine.count])
            for row in free {
                let cluster: String = try row.get("cluster")
                let group: String = try row.get("name")
                let term = try await db.scalar("""
                    INSERT INTO group_leases(cluster, group_name, owner, term, expires_at, acquired_at) VALUES ($1, $2, $3, 1, now() + make_interval(secs => $4), now())
                    ON CONFLICT(cluster, group_name) DO UPDATE SET owner = excluded.owner, term = group_leases.term + 1,
                      expires_at = excluded.expires_at, acquired_at = excluded.acquired_at
                    WHERE group_leases.expires_at <= now()
                    RETURNING term
                    """, [cluster, group, owner, duration], as: Int64.self)
                if let term { mine.append(GroupLease(cluster: cluster, group: group, owner: owner, term: term, acquired: true)) }
            }
            return mine
        }
        if let claimed { return claimed }
        return try await control { db in
            try await db.query("""
                SELECT cluster, group_name, term FROM group_leases WHERE owner = $1 AND expires_at > now() ORDER BY cluster, group_name
                """, [owner]).map { GroupLease(cluster: try $0.get("cluster"), group: try $0.get("group_name"), owner: owner, term: try $0.get("term"), acquired: false) }
        }
    }

    public func releaseLeases(owner: String) async throws {
        try await write { db in
            try await db.query("UPDATE group_leases SET expires_at = now() - interval '1 second' WHERE owner = $1 AND expires_at > now()", [owner])
            try await db.query("DELETE FROM replicas WHERE id = $1", [owner])
        }
    }

    /// Inside a write: refuses it unless the task's lease is still held at its term.
    static func checkFence(_ db: PGSession) async throws {
        guard let lease = Fence.current else { return }
        guard try await db.one("""
            SELECT 1 FROM group_leases WHERE cluster = $1 AND group_name = $2 AND owner = $3 AND term = $4 AND expires_at > now()
            """, [lease.cluster, lease.group, lease.owner, lease.term]) != nil else {
            throw StoreError(.fenced, "\(lease.owner) no longer holds group \(lease.key) at term \(lease.term): another replica owns it; nothing was written")
        }
    }
}
