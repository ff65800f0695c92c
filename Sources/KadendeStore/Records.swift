import KadendeModel
import struct Foundation.Date

/// A group as stored: its current spec revision and whether the user deleted it.
public struct GroupRecord: Sendable, Hashable, Codable {
    public var cluster: String
    public var name: String
    public var revision: Int
    public var spec: GroupSpec
    public var deleted: Bool
    /// The last configuration revision that rolled out to the whole group: what new nodes receive.
    public var configRevision: Int?
    public var createdAt: Date
    public var updatedAt: Date

    public init(cluster: String, name: String, revision: Int, spec: GroupSpec, deleted: Bool, configRevision: Int?, createdAt: Date, updatedAt: Date) {
        self.cluster = cluster
        self.name = name
        self.revision = revision
        self.spec = spec
        self.deleted = deleted
        self.configRevision = configRevision
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct NodeRecord: Sendable, Hashable, Codable {
    public var id: String
    public var cluster: String
    public var group: String
    /// The group spec revision the node was created from.
    public var revision: Int
    public var state: NodeState
    public var stateReason: String
    public var stateSince: Date
    public var instanceID: String?
    public var address: String?
    public var createdAt: Date
    public var lastHeartbeat: Date?
    /// When the node was judged unhealthy, if it was: replacements count against the group's budget, and young
    /// deaths make a crash loop.
    public var convictedAt: Date?
    /// Set by operators (`kadende node label`), matched by configuration targets.
    public var labels: [String: String]

    public init(
        id: String, cluster: String, group: String, revision: Int, state: NodeState, stateReason: String,
        stateSince: Date, instanceID: String? = nil, address: String? = nil, createdAt: Date, lastHeartbeat: Date? = nil,
        convictedAt: Date? = nil, labels: [String: String] = [:]
    ) {
        self.id = id
        self.cluster = cluster
        self.group = group
        self.revision = revision
        self.state = state
        self.stateReason = stateReason
        self.stateSince = stateSince
        self.instanceID = instanceID
        self.address = address
        self.createdAt = createdAt
        self.lastHeartbeat = lastHeartbeat
        self.convictedAt = convictedAt
        self.labels = labels
    }
}

public struct CertificateRecord: Sendable, Hashable {
    public var serial: String
    public var nodeID: String
    public var notBefore: Date
    public var notAfter: Date
    public var revoked: Bool

    public init(serial: String, nodeID: String, notBefore: Date, notAfter: Date, revoked: Bool = false) {
        self.serial = serial
        self.nodeID = nodeID
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.revoked = revoked
    }
}

public struct ApplyResult: Sendable, Hashable {
    public var group: GroupRecord
    /// False when the applied spec equals the current revision (nothing stored).
    public var changed: Bool

    public init(group: GroupRecord, changed: Bool) {
        self.group = group
        self.changed = changed
    }
}
