import struct Foundation.Date

/// One thing that happened to a group or node, with its reason. Events are the user's record of every decision.
public struct NodeEvent: Codable, Sendable, Hashable {
    public var seq: Int64
    public var at: Date
    public var cluster: String
    public var group: String
    public var nodeID: String?
    public var kind: Kind
    public var reason: String

    public init(seq: Int64 = 0, at: Date, cluster: String, group: String, nodeID: String?, kind: Kind, reason: String) {
        self.seq = seq
        self.at = at
        self.cluster = cluster
        self.group = group
        self.nodeID = nodeID
        self.kind = kind
        self.reason = reason
    }

    public enum Kind: String, Codable, Sendable {
        case groupApplied = "group.applied"
        case groupDeleted = "group.deleted"
        case nodeRequested = "node.requested"
        case nodeTransition = "node.transition"
        case nodeEnrolled = "node.enrolled"
        case nodeConnected = "node.connected"
        case nodeDisconnected = "node.disconnected"
        case nodeAdopted = "node.adopted"
        /// A create asked of the provider again for a node that is already provisioning.
        case nodeProvisioning = "node.provisioning"
        case nodeConvicted = "node.convicted"
        case providerError = "provider.error"
        case orphanDestroyed = "orphan.destroyed"
        /// A conviction that a safety rule held back (start-up grace, self-check, breaker, budget).
        case convictionHeld = "node.conviction_held"
        case agentRestarted = "node.agent_restarted"
        case breakerOpened = "group.breaker_opened"
        case breakerClosed = "group.breaker_closed"
        case crashLoopBackoff = "group.crash_loop_backoff"
        case hookRan = "node.hook"
        // Configuration: every push is an audit event; rollouts report batches, failures and how they ended.
        case configPushed = "config.pushed"
        case configBatch = "config.batch"
        case configApplied = "node.config_applied"
        case configFailed = "node.config_failed"
        case rolloutFinished = "config.rollout_finished"
        case rolloutRollback = "config.rollback"
        case rolloutControl = "config.rollout_control"
        case nodeLabelled = "node.labelled"
        // Clusters (events with an empty group): credentials set or removed (never their values), quotas.
        case credentialsSet = "cluster.credentials_set"
        case credentialsDeleted = "cluster.credentials_deleted"
        case quotaSet = "cluster.quota_set"
        case clusterCreated = "cluster.created"
        case clusterDeleted = "cluster.deleted"
        /// A coordinator replica took the group's lease.
        case ownerChanged = "group.owner_changed"
        case quotaReached = "group.quota_reached"
        /// A node renewed its certificate; the one it replaced is revoked.
        case certificateRenewed = "node.certificate_renewed"
    }
}
