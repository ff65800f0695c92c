import KadendeModel
import KadendeWire
import struct Foundation.Date

/// Everything the coordinator knows about one node when it judges it.
public struct HealthSignals: Sendable, Hashable {
    /// Last heartbeat received, or nil if none since this coordinator started watching.
    public var lastHeartbeat: Date?
    /// Arrival history for the φ detector; empty when nothing has arrived yet.
    public var history: HeartbeatHistory
    /// When this coordinator began watching the node (start of the node's life, or the coordinator's start plus
    /// its grace): silence is only counted from here, so a coordinator restart convicts no one.
    public var watchedSince: Date
    /// When the node was created: probes that have not passed yet are forgiven within the startup timeout.
    public var createdAt: Date
    /// The agent holds an open connection to this coordinator.
    public var connected: Bool
    /// The provider's view, or nil when the provider did not answer this round.
    public var instance: InstanceStatus?
    /// True when the provider answered and the node's instance is not in its tagged list.
    public var instanceMissing: Bool
    /// The agent-side probes as last reported.
    public var probes: [ProbeResult]
    /// The coordinator's own probes against the node's address.
    public var external: [ProbeResult]
    /// The agent was asked to restart through the provider at this time (agent down, node serving).
    public var agentRestartRequested: Date?

    public init(lastHeartbeat: Date?, history: HeartbeatHistory = HeartbeatHistory(), watchedSince: Date, createdAt: Date? = nil,
                connected: Bool = true, instance: InstanceStatus?, instanceMissing: Bool = false,
                probes: [ProbeResult] = [], external: [ProbeResult] = [], agentRestartRequested: Date? = nil) {
        self.lastHeartbeat = lastHeartbeat
        self.history = history
        self.watchedSince = watchedSince
        self.createdAt = createdAt ?? watchedSince
        self.connected = connected
        self.instance = instance
        self.instanceMissing = instanceMissing
        self.probes = probes
        self.external = external
        self.agentRestartRequested = agentRestartRequested
    }
}

public struct Verdict: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable { case healthy, suspect, unhealthy, dead }
    /// What the coordinator may try short of replacing the node.
    public enum Remedy: String, Sendable, Hashable, Codable {
        /// The agent is silent but the node serves: restart the agent through the provider.
        case restartAgent
    }
    public var kind: Kind
    public var reason: String
    public var remedy: Remedy?
    /// True when the verdict rests on a fact from outside the node's network path (the provider says the machine
    /// is gone or stopped), not on silence.
    public var providerConfirmed: Bool

    public init(_ kind: Kind, _ reason: String, remedy: Remedy? = nil, providerConfirmed: Bool = false) {
        self.kind = kind
        self.reason = reason
        self.remedy = remedy
        self.providerConfirmed = providerConfirmed
    }

    public var description: String { "\(kind.rawValue): \(reason)" }
    public var convicts: Bool { kind == .dead || kind == .unhealthy }
}
