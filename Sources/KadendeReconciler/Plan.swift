import KadendeHealth
import KadendeModel
import struct Foundation.Date

/// A node as the reconciler sees it: the store's record plus live signals.
public struct ObservedNode: Sendable, Hashable {
    public var id: String
    public var state: NodeState
    public var stateSince: Date
    public var createdAt: Date
    public var instanceID: String?
    public var signals: HealthSignals

    public init(id: String, state: NodeState, stateSince: Date, createdAt: Date, instanceID: String?, signals: HealthSignals) {
        self.id = id
        self.state = state
        self.stateSince = stateSince
        self.createdAt = createdAt
        self.instanceID = instanceID
        self.signals = signals
    }
}

/// An instance in the provider's tagged list for this group.
public struct ObservedInstance: Sendable, Hashable {
    public var id: String
    public var nodeID: String?
    public var status: InstanceStatus
    public var launchedAt: Date?
    public init(id: String, nodeID: String?, status: InstanceStatus, launchedAt: Date? = nil) {
        self.id = id
        self.nodeID = nodeID
        self.status = status
        self.launchedAt = launchedAt
    }
}

public enum Action: Sendable, Hashable {
    /// Create `count` new nodes (the loop mints their ids and records intent first).
    case create(count: Int, reason: String)
    /// Create the machine for a node whose intent is recorded but that has no instance.
    case provision(nodeID: String, reason: String)
    /// Record that a node's instance exists (found by tag after a crash or a timed-out create).
    case adopt(nodeID: String, instanceID: String)
    case transition(nodeID: String, to: NodeState, reason: String)
    /// Convict and destroy: move to `unhealthy` (if not already), then `terminating`, destroy, `terminated`.
    case replace(nodeID: String, reason: String)
    /// Terminate a node that is not sick (scale-down, deletion).
    case terminate(nodeID: String, reason: String)
    /// Give up on a node that never came up: destroy its instance and mark it `failed`.
    case fail(nodeID: String, reason: String)
    /// Destroy an instance tagged for this group that no node explains.
    case destroyOrphan(instanceID: String, reason: String)
    /// Finish a destroy that a crash interrupted.
    case finishTermination(nodeID: String)
}

public struct Plan: Sendable, Hashable {
    public var actions: [Action]
    /// Why the group is as it is, for `group get` and logs.
    public var reasons: [String]
    /// When the reconciler should look again even if nothing happens.
    public var nextCheck: Date
}
