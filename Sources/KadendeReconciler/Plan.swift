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
    public var convictedAt: Date?
    public var signals: HealthSignals

    public init(id: String, state: NodeState, stateSince: Date, createdAt: Date, instanceID: String?, convictedAt: Date? = nil,
                signals: HealthSignals) {
        self.id = id
        self.state = state
        self.stateSince = stateSince
        self.createdAt = createdAt
        self.instanceID = instanceID
        self.convictedAt = convictedAt
        self.signals = signals
    }

    /// When a finished node died, if it died rather than being scaled away: its conviction, or its failure.
    var diedAt: Date? {
        if let convictedAt { return convictedAt }
        return state == .failed ? stateSince : nil
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
    /// Convict but keep the machine until its replacement is healthy (`maxSurge`).
    case convict(nodeID: String, reason: String)
    /// Terminate a node that is not sick (scale-down, deletion).
    case terminate(nodeID: String, reason: String)
    /// Give up on a node that never came up: destroy its instance and mark it `failed`.
    case fail(nodeID: String, reason: String)
    /// Destroy an instance tagged for this group that no node explains.
    case destroyOrphan(instanceID: String, reason: String)
    /// Finish a destroy that a crash interrupted.
    case finishTermination(nodeID: String)
    /// Ask the provider to restart the node's agent (agent down, node serving).
    case restartAgent(nodeID: String, reason: String)
    /// A conviction that a safety rule holds back, recorded once per node and rule.
    case hold(nodeID: String, reason: String)
}

/// What the group's safety rules say this pass, for `group get`, alerts and metrics.
public struct SafetyStatus: Sendable, Hashable, Codable {
    /// Set while the circuit breaker is open: too many of the group look unhealthy at once.
    public var breaker: String?
    /// Set while every conviction is held coordinator-wide (start-up grace, failed self-check).
    public var held: String?
    /// Replacements in the budget window, and the budget.
    public var replacementsInWindow: Int
    public var budget: Int
    /// Set while a crash-loop backoff delays creating nodes.
    public var backoffUntil: Date?
    public var crashLoopStreak: Int
    /// When the breaker opened, and since when the group has been back under the limit: it closes only after
    /// `breakerSettle` of calm, so nodes that come back one by one after a partition are not convicted as the
    /// count drops.
    public var breakerOpenedAt: Date?
    public var breakerCalmSince: Date?

    public init(breaker: String? = nil, held: String? = nil, replacementsInWindow: Int = 0, budget: Int = 0,
                backoffUntil: Date? = nil, crashLoopStreak: Int = 0, breakerOpenedAt: Date? = nil, breakerCalmSince: Date? = nil) {
        self.breaker = breaker
        self.held = held
        self.replacementsInWindow = replacementsInWindow
        self.budget = budget
        self.backoffUntil = backoffUntil
        self.crashLoopStreak = crashLoopStreak
        self.breakerOpenedAt = breakerOpenedAt
        self.breakerCalmSince = breakerCalmSince
    }
}

public struct Plan: Sendable, Hashable {
    public var actions: [Action]
    /// Why the group is as it is, for `group get` and logs.
    public var reasons: [String]
    /// When the reconciler should look again even if nothing happens.
    public var nextCheck: Date
    public var safety: SafetyStatus
    /// Every live node's verdict this pass, for `node get`.
    public var verdicts: [String: Verdict]
}
