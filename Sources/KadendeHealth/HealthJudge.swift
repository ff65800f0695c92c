import KadendeModel
import KadendeWire
import struct Foundation.Date

/// A pure function from one node's signals to a verdict with its reason.
///
/// Silence alone is weak evidence: a stalled agent, a lossy link and a partition of the coordinator all look like
/// it. So silence counts only once it is unlikely (φ above the threshold, and at least two heartbeat intervals),
/// and it convicts only with a second signal: an external probe failing while the agent's connection is closed
/// (its process is gone), or the provider reporting the machine stopped. With nothing else to go on, silence
/// convicts at the ceiling (`heartbeatTimeout`). A silent agent on a
/// node that still answers its external probes is an agent problem: the node is left serving for `agentGrace`
/// while the agent is restarted. A probe failure reported by a live agent convicts on its own: the agent is the
/// best witness of its node. An external probe failing while the agent reports is only suspect: the path between
/// coordinator and node may be what fails.
public enum HealthJudge {
    public static func judge(_ s: HealthSignals, policy: GroupSpec.HealthPolicy, now: Date) -> Verdict {
        if s.instanceMissing {
            return Verdict(.dead, "provider no longer lists the node's instance", providerConfirmed: true)
        }
        if s.instance == .terminated {
            return Verdict(.dead, "provider reports the instance terminated", providerConfirmed: true)
        }
        let (silence, phi) = self.silence(s, policy: policy, now: now)
        let floor = 2 * policy.heartbeatInterval.value
        let silent = silence > policy.heartbeatTimeout.value || (silence > floor && phi >= policy.phiThreshold)
        let failing = s.external.filter { $0.status == .critical }
        let serving = !s.external.isEmpty && s.external.allSatisfy { $0.status == .passing }
        let quiet = "no heartbeat for \(format(silence)) (φ \(format(phi, digits: 1)))"

        if silent {
            if s.instance == .stopped || s.instance == .impaired {
                return Verdict(.dead, "\(quiet) and the provider reports the instance \(s.instance!.rawValue)", providerConfirmed: true)
            }
            if let probe = failing.first {
                let evidence = "external probe \(probe.name) failing: \(probe.output ?? "no answer")"
                // A closed connection means the agent's process is gone (its kernel said so). One still open is
                // a paused agent or a cut link, which lossy networks fake: that waits for the ceiling.
                if !s.connected || silence > policy.heartbeatTimeout.value {
                    return Verdict(.dead, "\(quiet), \(s.connected ? "past the ceiling \(policy.heartbeatTimeout)" : "its connection closed,") and \(evidence)")
                }
                return Verdict(.suspect, "\(quiet) and \(evidence); its connection is still open (paused or cut off): "
                    + "convicted at the ceiling \(policy.heartbeatTimeout) unless it speaks")
            }
            if serving {
                let down = silence
                if down > policy.agentGrace.value {
                    return Verdict(.unhealthy, "\(quiet) while the node still answers its external probes; agent grace \(policy.agentGrace) is over"
                        + (s.agentRestartRequested != nil ? " and restarting the agent did not bring it back" : ""))
                }
                // A paused or briefly cut agent comes back by itself: the agent is restarted only once its silence
                // passes the ceiling.
                return Verdict(.suspect, "agent down, node serving: \(quiet) but every external probe passes; grace \(policy.agentGrace)",
                               remedy: silence > policy.heartbeatTimeout.value ? .restartAgent : nil)
            }
            if silence > policy.heartbeatTimeout.value {
                return Verdict(.dead, "no heartbeat for \(format(silence)), past the ceiling \(policy.heartbeatTimeout)"
                    + (s.instance.map { "; provider reports \($0.rawValue)" } ?? ""))
            }
            return Verdict(.suspect, "\(quiet); no second signal yet, convicted at the ceiling \(policy.heartbeatTimeout) unless it speaks")
        }
        if silence > floor {
            return Verdict(.suspect, "heartbeat late: \(quiet), below the threshold \(format(policy.phiThreshold, digits: 1))")
        }

        // The agent speaks: its probes are the best witness of the node.
        let heard = "heartbeat \(format(silence)) ago"
        if let probe = s.probes.first(where: { $0.status == .critical }) {
            let detail = "probe \(probe.name) critical: \(probe.output ?? "no output")"
            let age = now.timeIntervalSince(s.createdAt)
            if age < policy.startupTimeout.value {
                return Verdict(.suspect, "starting (\(format(age)) of \(policy.startupTimeout)): \(detail)")
            }
            return Verdict(.unhealthy, detail)
        }
        if let probe = failing.first {
            return Verdict(.suspect, "external probe \(probe.name) failing while the agent reports (\(heard)): \(probe.output ?? "no answer")")
        }
        let warnings = s.probes.filter { $0.status == .warning }.map(\.name)
        let passing = s.probes.filter { $0.status == .passing }.count
        var reason = heard
        if !s.probes.isEmpty { reason += "; \(passing) of \(s.probes.count) probes passing" }
        if !warnings.isEmpty { reason += "; warning: \(warnings.joined(separator: ", "))" }
        return Verdict(.healthy, reason)
    }

    /// The silence and its φ as the judge sees them, for `node get`.
    public static func silence(_ s: HealthSignals, policy: GroupSpec.HealthPolicy, now: Date) -> (seconds: Double, phi: Double) {
        let since = max(s.lastHeartbeat ?? s.watchedSince, s.watchedSince)
        let silence = max(now.timeIntervalSince(since), 0)
        return (silence, phi(s, now: now, silence: silence, interval: policy.heartbeatInterval.value))
    }

    /// φ of the present silence. Before the first heartbeat since watching began, the silence is measured from
    /// the start of watching against the declared interval.
    static func phi(_ s: HealthSignals, now: Date, silence: Double, interval: Double) -> Double {
        let deviation = max(interval / 4, 0.05)
        if let last = s.lastHeartbeat, last >= s.watchedSince, s.history.last != nil {
            return s.history.phi(at: now, expectedInterval: interval, minimumDeviation: deviation)
        }
        return HeartbeatHistory.phi(silence: silence, mean: interval, deviation: deviation)
    }

    static func format(_ seconds: Double) -> String { format(seconds, digits: 1) + "s" }

    static func format(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "∞" }
        let scale = digits == 0 ? 1.0 : 10.0
        let rounded = (value * scale).rounded() / scale
        return "\(rounded)"
    }
}
