import KadendeModel
import KadendeWire
import struct Foundation.Date

/// Shapes of the REST API `/v1`, kept apart from the store's records so either can change without the other.

public struct APIGroup: Codable, Sendable, Hashable {
    public var cluster: String
    public var name: String
    public var revision: Int
    public var provider: String
    public var size: GroupSpec.Size
    public var deleted: Bool
    /// Node count per state, for live nodes only.
    public var nodes: [String: Int]
    public var healthy: Int

    public init(cluster: String, name: String, revision: Int, provider: String, size: GroupSpec.Size, deleted: Bool, nodes: [String: Int], healthy: Int) {
        self.cluster = cluster
        self.name = name
        self.revision = revision
        self.provider = provider
        self.size = size
        self.deleted = deleted
        self.nodes = nodes
        self.healthy = healthy
    }
}

public struct APIGroupDetail: Codable, Sendable, Hashable {
    public var group: APIGroup
    public var spec: GroupSpec
    public var nodes: [APINode]
    public var safety: APISafety?
    public init(group: APIGroup, spec: GroupSpec, nodes: [APINode], safety: APISafety? = nil) {
        self.group = group
        self.spec = spec
        self.nodes = nodes
        self.safety = safety
    }
}

public struct APIApplyResult: Codable, Sendable, Hashable {
    public var group: APIGroup
    /// False when the spec was identical to the current revision.
    public var changed: Bool
    public init(group: APIGroup, changed: Bool) {
        self.group = group
        self.changed = changed
    }
}

public struct APINode: Codable, Sendable, Hashable {
    public var id: String
    public var cluster: String
    public var group: String
    public var state: NodeState
    public var reason: String
    public var since: Date
    public var instanceID: String?
    public var address: String?
    public var createdAt: Date
    public var lastHeartbeat: Date?
    public var connected: Bool
    /// The coordinator's latest verdict (healthy, suspect, unhealthy, dead) and its reason.
    public var verdict: String?
    public var verdictReason: String?
    public var labels: [String: String]?

    public init(id: String, cluster: String, group: String, state: NodeState, reason: String, since: Date, instanceID: String?,
                address: String?, createdAt: Date, lastHeartbeat: Date?, connected: Bool, verdict: String? = nil, verdictReason: String? = nil,
                labels: [String: String]? = nil) {
        self.id = id
        self.cluster = cluster
        self.group = group
        self.state = state
        self.reason = reason
        self.since = since
        self.instanceID = instanceID
        self.address = address
        self.createdAt = createdAt
        self.lastHeartbeat = lastHeartbeat
        self.connected = connected
        self.verdict = verdict
        self.verdictReason = verdictReason
        self.labels = labels
    }
}

/// Every signal the coordinator holds about one node (`kadende node get ID`).
public struct APINodeDetail: Codable, Sendable, Hashable {
    public struct Heartbeats: Codable, Sendable, Hashable {
        public var last: Date?
        public var silenceSeconds: Double
        public var phi: Double
        public var phiThreshold: Double
        public var meanIntervalSeconds: Double?
        public var deviationSeconds: Double?
        public var samples: Int
        public var intervalSeconds: Double
        public var ceilingSeconds: Double
        public init(last: Date?, silenceSeconds: Double, phi: Double, phiThreshold: Double, meanIntervalSeconds: Double?,
                    deviationSeconds: Double?, samples: Int, intervalSeconds: Double, ceilingSeconds: Double) {
            self.last = last
            self.silenceSeconds = silenceSeconds
            self.phi = phi
            self.phiThreshold = phiThreshold
            self.meanIntervalSeconds = meanIntervalSeconds
            self.deviationSeconds = deviationSeconds
            self.samples = samples
            self.intervalSeconds = intervalSeconds
            self.ceilingSeconds = ceilingSeconds
        }
    }

    public var node: APINode
    public var heartbeats: Heartbeats
    public var connected: Bool
    /// The provider's view right now (`running`, `stopped`, `terminated`, or `missing`), or why it is unknown.
    public var provider: String
    public var probes: [ProbeResult]
    public var probeViewStale: Bool
    public var external: [ProbeResult]
    public var agentRestartRequested: Date?
    public var convictedAt: Date?
    public var verdict: String
    public var verdictReason: String
    public var events: [NodeEvent]

    public init(node: APINode, heartbeats: Heartbeats, connected: Bool, provider: String, probes: [ProbeResult], probeViewStale: Bool,
                external: [ProbeResult], agentRestartRequested: Date?, convictedAt: Date?, verdict: String, verdictReason: String,
                events: [NodeEvent]) {
        self.node = node
        self.heartbeats = heartbeats
        self.connected = connected
        self.provider = provider
        self.probes = probes
        self.probeViewStale = probeViewStale
        self.external = external
        self.agentRestartRequested = agentRestartRequested
        self.convictedAt = convictedAt
        self.verdict = verdict
        self.verdictReason = verdictReason
        self.events = events
    }
}

/// A group's safety rules as they stand (`group get`).
public struct APISafety: Codable, Sendable, Hashable {
    /// Why the circuit breaker is open; nil when closed.
    public var breaker: String?
    /// Why every conviction is held coordinator-wide; nil when none is.
    public var held: String?
    public var replacementsInWindow: Int
    public var budget: Int
    public var budgetWindowSeconds: Double
    public var backoffUntil: Date?
    public var crashLoopStreak: Int
    public var reasons: [String]
    public init(breaker: String?, held: String?, replacementsInWindow: Int, budget: Int, budgetWindowSeconds: Double,
                backoffUntil: Date?, crashLoopStreak: Int, reasons: [String]) {
        self.breaker = breaker
        self.held = held
        self.replacementsInWindow = replacementsInWindow
        self.budget = budget
        self.budgetWindowSeconds = budgetWindowSeconds
        self.backoffUntil = backoffUntil
        self.crashLoopStreak = crashLoopStreak
        self.reasons = reasons
    }
}

public typealias APIEvent = NodeEvent

/// Every error the API returns: a stable code to match on, a message for people, and for spec errors the key
/// path and line.
public struct APIErrorBody: Codable, Sendable, Hashable, Error, CustomStringConvertible {
    public var code: String
    public var message: String
    public var path: String?
    public var line: Int?

    public init(code: String, message: String, path: String? = nil, line: Int? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.line = line
    }

    public var description: String {
        var where_ = ""
        if let path, !path.isEmpty { where_ += " at \(path)" }
        if let line { where_ += " (line \(line))" }
        return "\(code)\(where_): \(message)"
    }
}

public struct APIErrorEnvelope: Codable, Sendable {
    public var error: APIErrorBody
    public init(error: APIErrorBody) { self.error = error }
}

/// One agent binary the coordinator's artifact listener serves.
public struct APIAgentArtifact: Codable, Sendable, Hashable {
    public var version: String
    public var arch: String
    public var sha256: String
    public var size: Int
    public var path: String

    public init(version: String, arch: String, sha256: String, size: Int, path: String) {
        self.version = version
        self.arch = arch
        self.sha256 = sha256
        self.size = size
        self.path = path
    }
}
