import KadendeModel
import struct Foundation.Date

/// Everything the coordinator knows about one node when it judges it.
public struct HealthSignals: Sendable, Hashable {
    /// Last heartbeat received, or nil if none since this coordinator started watching.
    public var lastHeartbeat: Date?
    /// When this coordinator began watching the node (start of the node's life, or the coordinator's start):
    /// silence is only counted from here, so a coordinator restart convicts no one.
    public var watchedSince: Date
    /// The provider's view, or nil when the provider did not answer this round.
    public var instance: InstanceStatus?
    /// True when the provider answered and the node's instance is not in its tagged list.
    public var instanceMissing: Bool

    public init(lastHeartbeat: Date?, watchedSince: Date, instance: InstanceStatus?, instanceMissing: Bool = false) {
        self.lastHeartbeat = lastHeartbeat
        self.watchedSince = watchedSince
        self.instance = instance
        self.instanceMissing = instanceMissing
    }
}

public struct Verdict: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable { case healthy, suspect, unhealthy, dead }
    public var kind: Kind
    public var reason: String
    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }
    public var description: String { "\(kind.rawValue): \(reason)" }
}

/// A pure function from one node's signals to a verdict with its reason. The walking skeleton judges by heartbeat
/// silence and the provider's view; user and external probes join here later without changing callers.
public enum HealthJudge {
    public static func judge(_ s: HealthSignals, policy: GroupSpec.HealthPolicy, now: Date) -> Verdict {
        if s.instanceMissing {
            return Verdict(.dead, "provider no longer lists the node's instance")
        }
        if s.instance == .terminated {
            return Verdict(.dead, "provider reports the instance terminated")
        }
        let since = max(s.lastHeartbeat ?? s.watchedSince, s.watchedSince)
        let silence = now.timeIntervalSince(since)
        let interval = policy.heartbeatInterval.value
        let timeout = policy.heartbeatTimeout.value
        let providerNote = s.instance.map { "; provider reports \($0.rawValue)" } ?? ""
        if silence > timeout {
            return Verdict(.dead, "no heartbeat for \(format(silence)) (timeout \(policy.heartbeatTimeout))\(providerNote)")
        }
        // Two missed heartbeats make a node suspect; it is not acted on, only shown.
        if silence > 2 * interval {
            return Verdict(.suspect, "no heartbeat for \(format(silence)) (interval \(policy.heartbeatInterval))\(providerNote)")
        }
        return Verdict(.healthy, "heartbeat \(format(max(silence, 0))) ago")
    }

    static func format(_ seconds: Double) -> String {
        let tenths = (seconds * 10).rounded() / 10
        return "\(tenths)s"
    }
}
