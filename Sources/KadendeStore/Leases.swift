import struct Foundation.Date

/// A replica's ownership of one group: only the owner reconciles the group, and each of its writes for the group
/// names the lease's term, so an owner that lost the lease (paused past its expiry, cut off) writes nothing.
public struct GroupLease: Sendable, Hashable {
    public var cluster: String
    public var group: String
    public var owner: String
    /// Grows by one at every change of owner: the fencing token.
    public var term: Int64
    /// True when this call took the lease (from nobody, or from an owner whose lease had expired).
    public var acquired: Bool

    public init(cluster: String, group: String, owner: String, term: Int64, acquired: Bool) {
        self.cluster = cluster
        self.group = group
        self.owner = owner
        self.term = term
        self.acquired = acquired
    }

    public var key: String { "\(cluster)/\(group)" }
}

/// The lease whose term every store write of the current task must still hold; set around one group's
/// reconciliation. A store that has only one coordinator (SQLite) has nothing to fence.
public enum Fence {
    @TaskLocal public static var current: GroupLease?
}
