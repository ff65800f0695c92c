import KadendeModel
import KadendeWire
import struct Foundation.Date

/// A stored configuration revision of a group.
public struct ConfigRevisionRecord: Sendable, Hashable, Codable {
    public var cluster: String
    public var group: String
    public var config: ConfigRevision
    public var message: String?
    public var createdAt: Date
    public var revision: Int { config.revision }

    public init(cluster: String, group: String, config: ConfigRevision, message: String?, createdAt: Date) {
        self.cluster = cluster
        self.group = group
        self.config = config
        self.message = message
        self.createdAt = createdAt
    }
}

public enum RolloutState: String, Sendable, Hashable, Codable, CaseIterable {
    case running, paused, rollingBack = "rolling-back", succeeded, failed, rolledBack = "rolled-back", aborted

    /// Still moving nodes (or able to, once resumed).
    public var isActive: Bool { self == .running || self == .paused || self == .rollingBack }
}

/// One rollout of a revision to a group's targeted nodes. `previous` is the group's last good revision when it
/// started: what an automatic rollback returns the nodes to.
public struct RolloutRecord: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable { case push, rollback }
    public var id: Int64
    public var cluster: String
    public var group: String
    public var revision: Int
    public var previous: Int?
    public var kind: Kind
    public var target: ConfigTarget
    public var policy: RolloutPolicy
    public var state: RolloutState
    public var reason: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: Int64, cluster: String, group: String, revision: Int, previous: Int?, kind: Kind, target: ConfigTarget,
                policy: RolloutPolicy, state: RolloutState, reason: String, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.cluster = cluster
        self.group = group
        self.revision = revision
        self.previous = previous
        self.kind = kind
        self.target = target
        self.policy = policy
        self.state = state
        self.reason = reason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What the coordinator wants on a node and what the node last said about it.
public struct NodeConfigRecord: Sendable, Hashable, Codable {
    public var nodeID: String
    public var desired: Int?
    /// The rollout that set `desired`.
    public var rollout: Int64?
    public var pushedAt: Date?
    /// The node's last ack (or the state it reported in `Hello`).
    public var reported: Ack?
    public var reportedAt: Date?
    /// The node's last failed application, kept after a rollback so the operator still sees what went wrong.
    public var lastFailure: Ack?

    public init(nodeID: String, desired: Int? = nil, rollout: Int64? = nil, pushedAt: Date? = nil, reported: Ack? = nil, reportedAt: Date? = nil,
                lastFailure: Ack? = nil) {
        self.nodeID = nodeID
        self.desired = desired
        self.rollout = rollout
        self.pushedAt = pushedAt
        self.reported = reported
        self.reportedAt = reportedAt
        self.lastFailure = lastFailure
    }
}

/// Desired revisions in the order they were set, for replicas to relay to their own connections.
public struct DesiredChanges: Sendable, Hashable {
    public struct Change: Sendable, Hashable {
        public var nodeID: String
        public var cluster: String
        public var group: String
        public var revision: Int

        public init(nodeID: String, cluster: String, group: String, revision: Int) {
            self.nodeID = nodeID
            self.cluster = cluster
            self.group = group
            self.revision = revision
        }
    }

    public var changes: [Change]
    /// Where the next call starts: the position of the last change returned, or the latest one.
    public var position: Int64

    public init(changes: [Change], position: Int64) {
        self.changes = changes
        self.position = position
    }
}
