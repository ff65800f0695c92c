import KadendeModel
import KadendeWire
import struct Foundation.Date

/// A stored configuration revision (`config history`, `config diff`).
public struct APIConfigRevision: Codable, Sendable, Hashable {
    public var cluster: String
    public var group: String
    public var revision: Int
    public var digest: String
    public var message: String?
    public var createdAt: Date
    public var config: ConfigRevision

    public init(cluster: String, group: String, revision: Int, digest: String, message: String?, createdAt: Date, config: ConfigRevision) {
        self.cluster = cluster
        self.group = group
        self.revision = revision
        self.digest = digest
        self.message = message
        self.createdAt = createdAt
        self.config = config
    }
}

public struct APIRolloutProgress: Codable, Sendable, Hashable {
    public var targeted: Int
    public var done: Int
    public var applying: Int
    public var baking: Int
    public var failed: Int
    public var pending: Int

    public init(targeted: Int, done: Int, applying: Int, baking: Int, failed: Int, pending: Int) {
        self.targeted = targeted
        self.done = done
        self.applying = applying
        self.baking = baking
        self.failed = failed
        self.pending = pending
    }
}

public struct APIRollout: Codable, Sendable, Hashable {
    public var id: Int64
    public var revision: Int
    /// The last good revision when it started: where an automatic rollback goes.
    public var previous: Int?
    public var kind: String
    public var state: String
    public var reason: String
    /// The planner's latest word while the rollout is active.
    public var status: String?
    public var progress: APIRolloutProgress?
    public var target: String
    public var policy: RolloutPolicy
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: Int64, revision: Int, previous: Int?, kind: String, state: String, reason: String, status: String?,
                progress: APIRolloutProgress?, target: String, policy: RolloutPolicy, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.revision = revision
        self.previous = previous
        self.kind = kind
        self.state = state
        self.reason = reason
        self.status = status
        self.progress = progress
        self.target = target
        self.policy = policy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var isActive: Bool { state == "running" || state == "paused" || state == "rolling-back" }
}

/// One node's configuration: what it should run, what it said, and its standing in the current rollout.
public struct APINodeConfig: Codable, Sendable, Hashable {
    public var id: String
    public var state: NodeState
    public var labels: [String: String]
    public var desired: Int?
    public var revision: Int?
    public var outcome: String?
    public var message: String?
    public var steps: [StepResult]?
    public var reportedAt: Date?
    public var rollout: String?
    /// The node's last failed application (kept after a rollback).
    public var lastFailure: Ack?

    public init(id: String, state: NodeState, labels: [String: String], desired: Int?, revision: Int?, outcome: String?,
                message: String?, steps: [StepResult]?, reportedAt: Date?, rollout: String?, lastFailure: Ack? = nil) {
        self.id = id
        self.state = state
        self.labels = labels
        self.desired = desired
        self.revision = revision
        self.outcome = outcome
        self.message = message
        self.steps = steps
        self.reportedAt = reportedAt
        self.rollout = rollout
        self.lastFailure = lastFailure
    }
}

public struct APIConfigStatus: Codable, Sendable, Hashable {
    public var cluster: String
    public var group: String
    /// The revision new nodes receive: the last one rolled out to the whole group.
    public var currentRevision: Int?
    public var latestRevision: Int?
    /// The newest rollout, active or not.
    public var rollout: APIRollout?
    public var nodes: [APINodeConfig]

    public init(cluster: String, group: String, currentRevision: Int?, latestRevision: Int?, rollout: APIRollout?, nodes: [APINodeConfig]) {
        self.cluster = cluster
        self.group = group
        self.currentRevision = currentRevision
        self.latestRevision = latestRevision
        self.rollout = rollout
        self.nodes = nodes
    }
}

public struct APIPushResult: Codable, Sendable, Hashable {
    public var revision: APIConfigRevision
    public var rollout: APIRollout
    public init(revision: APIConfigRevision, rollout: APIRollout) {
        self.revision = revision
        self.rollout = rollout
    }
}

/// `PUT /v1/nodes/{id}/labels`: labels to set and keys to remove.
public struct APILabelChange: Codable, Sendable, Hashable {
    public var set: [String: String]
    public var remove: [String]
    public init(set: [String: String] = [:], remove: [String] = []) {
        self.set = set
        self.remove = remove
    }

    enum CodingKeys: String, CodingKey { case set, remove }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        set = try c.decodeIfPresent([String: String].self, forKey: .set) ?? [:]
        remove = try c.decodeIfPresent([String].self, forKey: .remove) ?? []
    }
}
