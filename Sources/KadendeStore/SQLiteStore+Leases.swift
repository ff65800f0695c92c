extension SQLiteStore {
    /// One embedded coordinator owns every group, at term 1; nothing to fence.
    public func leaseGroups(owner: String, duration: Double) async throws -> [GroupLease] {
        try await groups(cluster: nil).map { GroupLease(cluster: $0.cluster, group: $0.name, owner: owner, term: 1, acquired: false) }
    }

    public func releaseLeases(owner: String) async throws {}
}
